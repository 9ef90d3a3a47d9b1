import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { freePort } from "./free-port.ts";

describe("freePort", () => {
  it("hands out a bindable port below the kernel's ephemeral range", async () => {
    const port = await freePort();
    assert.ok(port >= 20_000 && port < 32_000, String(port));
    const server = createServer();
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    server.close();
    await once(server, "close");
  });
});

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ValidationError } from "../../domain/errors.ts";
import { writeCrtList } from "./crt-list.ts";

describe("writeCrtList", () => {
  it("writes one PEM path per line, private to the owner", async () => {
    const dir = await mkdtemp(join(tmpdir(), "slipway-crt-list-"));
    try {
      const path = join(dir, "crt-list");
      await writeCrtList(path, ["/certs/a.pem", "/certs/b.pem"]);
      assert.equal(await readFile(path, "utf8"), "/certs/a.pem\n/certs/b.pem\n");
      assert.equal((await stat(path)).mode & 0o777, 0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects paths that could add crt-list options or lines", async () => {
    for (const pems of [[], ["relative.pem"], ["/a.pem [alpn h2]"], ["/a.pem\n/b.pem"]]) {
      await assert.rejects(writeCrtList("/nonexistent/crt-list", pems), ValidationError);
    }
  });
});

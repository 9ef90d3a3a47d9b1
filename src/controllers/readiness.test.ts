import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { retryDelayMs, waitForTcp } from "./readiness.ts";

describe("readiness", () => {
  it("looks every 2 ms for 250 ms, then less and less often, then every 200 ms", () => {
    assert.deepEqual(
      [0, 1, 124, 125, 126, 127, 128, 135].map((attempt) => retryDelayMs(attempt)),
      [2, 2, 2, 25, 50, 100, 200, 200],
    );
  });

  it("sees a port that starts listening after a while", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const address = probe.address();
    assert.ok(address !== null && typeof address === "object");
    await new Promise<void>((resolve) =>
      probe.close(() => {
        resolve();
      }),
    );

    const server = createServer((socket) => socket.end());
    const late = setTimeout(() => server.listen(address.port, "127.0.0.1"), 150);
    try {
      const ready = await waitForTcp("127.0.0.1", address.port, 5000, AbortSignal.timeout(6000));
      assert.equal(ready, true);
    } finally {
      clearTimeout(late);
      server.close();
    }
  });
});

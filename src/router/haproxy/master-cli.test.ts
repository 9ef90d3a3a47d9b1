import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import { MasterCli, parseShowProc } from "./master-cli.ts";

const HEADER = "#<PID>          <type>          <reloads>       <uptime>        <version>      ";

describe("parseShowProc", () => {
  it("reads the master, current and old workers", () => {
    const list = parseShowProc(
      [
        HEADER,
        "1162            master          5 [failed: 0]   0d00h02m07s     2.6.12-1+deb12u4",
        "# workers",
        "1271            worker          0               0d00h00m00s     2.6.12-1+deb12u4",
        "# old workers",
        "1233            worker          3               0d00h00m43s     2.6.12-1+deb12u4",
        "# programs",
        "",
      ].join("\n"),
    );
    assert.deepEqual(list, {
      master: { pid: 1162, reloads: 5, failedReloads: 0 },
      workers: [{ pid: 1271, reloads: 0 }],
      oldWorkers: [{ pid: 1233, reloads: 3 }],
    });
  });

  it("reports failed reloads", () => {
    const list = parseShowProc(
      [
        HEADER,
        "24526           master          2 [failed: 1]   0d00h10m16s     2.6.12-1+deb12u4",
        "# workers",
        "16951           worker          1               0d00h00m08s     2.6.12-1+deb12u4",
        "# programs",
      ].join("\n"),
    );
    assert.equal(list.master.failedReloads, 1);
    assert.deepEqual(list.workers, [{ pid: 16951, reloads: 1 }]);
  });

  it("rejects an answer without a master", () => {
    assert.throws(() => parseShowProc("Unknown command.\n"), DriverError);
  });
});

describe("MasterCli", () => {
  it("sends one command line and returns the answer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "slipway-cli-"));
    const socket = join(dir, "master.sock");
    const received: string[] = [];
    const server = createServer((connection) => {
      connection.setEncoding("utf8").on("data", (chunk: string) => received.push(chunk));
      connection.on("end", () => connection.end("answer\n"));
    });
    server.listen(socket);
    await once(server, "listening");
    try {
      assert.equal(await new MasterCli(socket).command("show proc"), "answer\n");
      assert.deepEqual(received, ["show proc\n"]);
      await assert.rejects(new MasterCli(socket).command("show proc\nreload"), DriverError);
      await assert.rejects(new MasterCli(socket).command("show proc; reload"), DriverError);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails with DriverError when nothing listens", async () => {
    await assert.rejects(
      new MasterCli("/nonexistent/master.sock").command("show proc"),
      DriverError,
    );
  });
});

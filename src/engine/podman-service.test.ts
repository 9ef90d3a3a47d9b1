import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { silentLogger } from "../domain/logger.ts";
import { runPodman, startPodmanService, stopPodmanService } from "./podman-service.ts";
import { sandboxUnavailable } from "./testing/podman-sandbox.ts";

const unavailable = sandboxUnavailable();

describe("the own podman service", { skip: unavailable ?? false }, () => {
  let dir: string | undefined;
  const dirs = async (): Promise<{ stateDir: string; runDir: string }> => {
    dir ??= await mkdtemp(join(tmpdir(), "sw-svc-"));
    return { stateDir: join(dir, "state"), runDir: join(dir, "run") };
  };

  after(async () => {
    if (dir === undefined) return;
    await stopPodmanService({ ...(await dirs()), log: silentLogger });
    await rm(dir, { recursive: true, force: true });
  });

  it("starts detached, is adopted instead of started twice, and stops", async () => {
    const paths = await dirs();
    const options = { ...paths, runtime: "runc", log: silentLogger };
    const first = await startPodmanService(options);
    assert.equal(first.adopted, false);
    assert.equal(Number(await readFile(first.layout.pidFile, "utf8")), first.pid);
    // Not the caller's directory: what the service starts may leave files where it runs.
    assert.equal(await readlink(`/proc/${String(first.pid)}/cwd`), first.layout.stateDir);
    const { stdout } = await runPodman(first.layout, ["info", "--format", "{{.Store.GraphRoot}}"]);
    assert.equal(stdout.trim(), first.layout.graphRoot);

    const second = await startPodmanService(options);
    assert.equal(second.adopted, true);
    assert.equal(second.pid, first.pid);

    await stopPodmanService({ ...paths, log: silentLogger, graceMs: 5_000 });
    assert.equal(existsSync(first.layout.pidFile), false);
    assert.equal(existsSync(`/proc/${first.pid}`) && !(await isZombie(first.pid)), false);
    await stopPodmanService({ ...paths, log: silentLogger });
  });
});

async function isZombie(pid: number): Promise<boolean> {
  try {
    return /\) [ZX] /.test(await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true; // gone between the two checks
  }
}

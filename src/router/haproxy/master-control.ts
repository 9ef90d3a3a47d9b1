import { DriverError } from "../../domain/errors.ts";
import { alertsSince, logOffset } from "./haproxy-config.ts";
import type { SpawnedMaster } from "./haproxy-process.ts";
import type { MasterCli, ProcessList } from "./master-cli.ts";
import { waitFor } from "./wait.ts";

/**
 * What HaproxyRouter asks of a running master through its CLI: a reload that is known to
 * have worked (a new worker serves), and waiting until a master serves.
 */
export class MasterControl {
  readonly #cli: MasterCli;
  readonly #logFile: string;
  readonly #readyTimeoutMs: number;

  constructor(cli: MasterCli, logFile: string, readyTimeoutMs: number) {
    this.#cli = cli;
    this.#logFile = logFile;
    this.#readyTimeoutMs = readyTimeoutMs;
  }

  /** Reloads through the master CLI and returns once a worker of the new generation serves. */
  async reload(): Promise<void> {
    const before = await this.#cli.showProc();
    const offset = await logOffset(this.#logFile);
    await this.#cli.command("reload");
    const after = await waitFor(
      async () => {
        const list = await this.#showProc();
        return list !== null && list.master.reloads > before.master.reloads ? list : null;
      },
      { timeoutMs: this.#readyTimeoutMs, what: "the haproxy master to reload" },
    );
    if (after.master.failedReloads > 0) {
      const alerts = await alertsSince(this.#logFile, offset);
      throw new DriverError("haproxy", `reload failed, the old configuration serves: ${alerts}`);
    }
    const fresh = after.workers.find((w) => !before.workers.some((old) => old.pid === w.pid));
    if (fresh === undefined) throw new DriverError("haproxy", "reload started no new worker");
    await this.#waitForWorker(fresh.pid);
  }

  /** Waits for the master to answer and a current worker to serve. */
  async waitUntilServing(spawned: { master: SpawnedMaster; offset: number } | null): Promise<void> {
    const list = await waitFor(
      async () => {
        const status = spawned?.master.exitStatus() ?? null;
        if (spawned !== null && status !== null) {
          const alerts = await alertsSince(this.#logFile, spawned.offset);
          throw new DriverError("haproxy", `exited at start (${status}): ${alerts}`);
        }
        const current = await this.#showProc();
        return current !== null && current.workers.length > 0 ? current : null;
      },
      { timeoutMs: this.#readyTimeoutMs, what: "haproxy to start" },
    );
    await Promise.all(list.workers.map((worker) => this.#waitForWorker(worker.pid)));
  }

  async #waitForWorker(pid: number): Promise<void> {
    await waitFor(
      async () =>
        (await this.#answers(() => this.#cli.workerAnswers(pid))) === true ? true : null,
      { timeoutMs: this.#readyTimeoutMs, what: `haproxy worker ${pid}` },
    );
  }

  /** `show proc`, or null while the master cannot answer (starting, re-executing). */
  async #showProc(): Promise<ProcessList | null> {
    return this.#answers(() => this.#cli.showProc());
  }

  async #answers<T>(ask: () => Promise<T>): Promise<T | null> {
    try {
      return await ask();
    } catch (error) {
      if (error instanceof DriverError) return null;
      throw error;
    }
  }
}

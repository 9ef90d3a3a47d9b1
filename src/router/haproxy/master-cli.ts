import { createConnection } from "node:net";
import { DriverError } from "../../domain/errors.ts";

/** One line of the master's `show proc`. */
export interface ProcessEntry {
  readonly pid: number;
  /** For the master: reloads so far. For a worker: reloads since it was forked. */
  readonly reloads: number;
}

/** The master's view of its processes (`show proc`). */
export interface ProcessList {
  readonly master: ProcessEntry & {
    /** Failed reloads since the last successful one: the old workers kept serving. */
    readonly failedReloads: number;
  };
  /** Workers of the current generation (the ones accepting new connections). */
  readonly workers: readonly ProcessEntry[];
  /** Workers of older configurations, finishing their connections. */
  readonly oldWorkers: readonly ProcessEntry[];
}

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * A client of HAProxy's master CLI (the `-S` socket): one connection per command, as the
 * master closes the connection after answering (and on `reload`).
 */
export class MasterCli {
  readonly #socket: string;
  readonly #timeoutMs: number;

  constructor(socket: string, timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
  }

  /** Sends one command and returns the whole answer. */
  async command(command: string): Promise<string> {
    if (/[\r\n;]/.test(command)) {
      throw new DriverError("haproxy", "a master CLI command is a single command line");
    }
    return await new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const fail = (message: string, cause?: unknown) => {
        connection.destroy();
        reject(new DriverError("haproxy", `master CLI ${this.#socket}: ${message}`, { cause }));
      };
      const connection = createConnection(this.#socket, () => connection.end(`${command}\n`));
      connection.setTimeout(this.#timeoutMs, () => {
        fail(`no answer to "${command}" within ${this.#timeoutMs} ms`);
      });
      connection.on("data", (chunk: Buffer) => chunks.push(chunk));
      connection.on("error", (error) => {
        fail(error.message, error);
      });
      connection.on("close", (hadError) => {
        if (!hadError) resolve(Buffer.concat(chunks).toString("utf8"));
      });
    });
  }

  /** `show proc`, parsed. */
  async showProc(): Promise<ProcessList> {
    return parseShowProc(await this.command("show proc"));
  }

  /** Asks one worker for `show info`; true when that worker answers with its own pid. */
  async workerAnswers(pid: number): Promise<boolean> {
    const info = await this.command(`@!${pid} show info`);
    return new RegExp(`^Pid: ${pid}$`, "m").test(info);
  }
}

/**
 * Parses `show proc` of HAProxy 2.6:
 *
 *     #<PID>          <type>          <reloads>       <uptime>        <version>
 *     1162            master          5 [failed: 0]   0d00h02m07s     2.6.12
 *     # workers
 *     1271            worker          0               0d00h00m00s     2.6.12
 *     # old workers
 *     1233            worker          3               0d00h00m43s     2.6.12
 *     # programs
 */
export function parseShowProc(text: string): ProcessList {
  let master: ProcessList["master"] | null = null;
  const workers: ProcessEntry[] = [];
  const oldWorkers: ProcessEntry[] = [];
  let section = "";
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) {
      section = line.slice(1).trim();
      continue;
    }
    const match = /^(\d+)\s+(\w+)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?/.exec(line);
    if (match === null) continue;
    const entry = { pid: Number(match[1]), reloads: Number(match[3]) };
    if (match[2] === "master") master = { ...entry, failedReloads: Number(match[4] ?? 0) };
    else if (match[2] === "worker" && section === "workers") workers.push(entry);
    else if (match[2] === "worker" && section === "old workers") oldWorkers.push(entry);
  }
  if (master === null) {
    throw new DriverError("haproxy", `unexpected "show proc" answer: ${JSON.stringify(text)}`);
  }
  return { master, workers, oldWorkers };
}

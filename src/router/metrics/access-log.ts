import { createServer, type Server, type Socket } from "node:net";
import { appendFile, mkdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { OctetFrameDecoder } from "./octet-frames.ts";
import { RecentRing } from "./recent-ring.ts";

/** One request as the router logged it. */
export interface AccessLogEntry {
  readonly time: string;
  readonly app: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly bytes: number;
  readonly clientIp: string;
  readonly requestId: string;
}

const MARK = "slipway-access";
/** How long request lines wait before they are appended to the app's file. */
const FLUSH_MS = 250;
/** How long the receiver rests between bursts of reads (HAProxy's ring holds 4 MB). */
const READ_REST_MS = 50;
const APP_NAME = /^[a-z0-9-]+$/;

/** Parses one line of the log-format render.ts sets; null for anything else. */
export function parseAccessLine(line: string, time: string = isoNow()): AccessLogEntry | null {
  const app = appOf(line);
  if (app === null) return null;
  const fields = line.replace(/\n$/, "").split("\t");
  if (fields.length < 9) return null;
  const [, , status, duration, bytes, client, id, method, ...path] = fields;
  return {
    time,
    app,
    method: method ?? "",
    path: path.join("\t"),
    status: Number(status),
    durationMs: Number(duration),
    bytes: Number(bytes),
    clientIp: client ?? "",
    requestId: id ?? "",
  };
}

const PREFIX = `${MARK}\tapp_`;

/** The app of an access-log line (its backend `app_NAME`), or null for any other line. */
function appOf(line: string): string | null {
  if (!line.startsWith(PREFIX)) return null;
  const end = line.indexOf("\t", PREFIX.length);
  if (end < 0) return null;
  const app = line.slice(PREFIX.length, end);
  return APP_NAME.test(app) ? app : null;
}

/**
 * The file's line: the time, then the fields after the backend as HAProxy wrote them; a
 * line break inside a message (a frame may hold any bytes) cannot start a forged line.
 */
function fileLine(time: string, line: string): string {
  let fields = line.slice(line.indexOf("\t", PREFIX.length));
  if (fields.endsWith("\n")) fields = fields.slice(0, -1);
  if (fields.includes("\n") || fields.includes("\r")) fields = fields.replace(/[\r\n]/g, " ");
  return `${time}${fields}\n`;
}

let isoMs = -1;
let isoText = "";
/** The current time as an ISO string, formatted once per millisecond (the log's precision). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** The q-quantile (0..1) of values by nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

/** A request line as received, with the time it arrived; parsed only when asked for. */
interface RawLine {
  readonly time: string;
  readonly line: string;
}

/**
 * Receives HAProxy's access log on a loopback TCP port (HAProxy's log ring forwards it
 * there, many octet-counted lines per write), keeps each app's recent requests in memory
 * (for percentiles and `slipway logs`) and appends them to logsDir/access/APP.log, one
 * tab-separated line per request: time, status, duration (ms), bytes, client IP, request
 * id, method, path.
 *
 * It runs once per request on the host the apps share, so the receiving path only finds
 * the app and keeps the line as it came: entries are parsed when someone reads them
 * (bench/router measures the daemon's CPU per request).
 */
export class AccessLog {
  readonly #dir: string | null;
  readonly #keep: number;
  readonly #maxFileBytes: number;
  readonly #recent = new Map<string, RecentRing<RawLine>>();
  /** Bytes in each app's current file, learned at its first write. */
  readonly #fileBytes = new Map<string, number>();
  readonly #listeners = new Set<(entry: AccessLogEntry) => void>();
  /** Lines not yet handed to the writer, by app. */
  readonly #pending = new Map<string, string[]>();
  #flushTimer: NodeJS.Timeout | undefined;
  #server: Server | null = null;
  readonly #connections = new Set<Socket>();
  #writes: Promise<void> = Promise.resolve();

  constructor(options: {
    readonly dir: string | null;
    readonly keep?: number;
    /** Size at which APP.log becomes APP.log.1 (replacing the older one); default 16 MiB. */
    readonly maxFileBytes?: number;
  }) {
    this.#dir = options.dir;
    this.#keep = options.keep ?? 2048;
    this.#maxFileBytes = options.maxFileBytes ?? 16 * 1024 * 1024;
  }

  /** Calls listener with every request logged from now on; returns an unsubscribe function. */
  onEntry(listener: (entry: AccessLogEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Listens on 127.0.0.1:port (0 picks a free port); returns the port. */
  async listen(port: number): Promise<number> {
    if (this.#dir !== null) await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const server = createServer((connection) => {
      this.#connections.add(connection);
      const frames = new OctetFrameDecoder();
      let resting = false;
      connection.on("data", (chunk: Buffer) => {
        try {
          for (const message of frames.push(chunk)) this.record(message);
        } catch {
          // Not HAProxy's framing: drop the connection; HAProxy reconnects.
          connection.destroy();
          return;
        }
        // Read in bursts: take what has arrived (the reads of this turn of the event loop),
        // then rest READ_REST_MS while the kernel and HAProxy's ring hold the next lines.
        // Waking up for every line HAProxy sends cost the daemon a few µs per request.
        if (resting) return;
        resting = true;
        setImmediate(() => {
          connection.pause();
          setTimeout(() => {
            resting = false;
            connection.resume();
          }, READ_REST_MS).unref();
        });
      });
      // Losing a log line is better than crashing the daemon over one.
      connection.on("error", () => undefined);
      connection.on("close", () => this.#connections.delete(connection));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", () => undefined);
    this.#server = server;
    const address = server.address();
    return typeof address === "object" && address !== null ? address.port : port;
  }

  /** Records one raw log line (exposed for tests). */
  record(line: string): void {
    const app = appOf(line);
    if (app === null) return;
    const time = isoNow();
    let recent = this.#recent.get(app);
    if (recent === undefined) {
      recent = new RecentRing(this.#keep);
      this.#recent.set(app, recent);
    }
    recent.push({ time, line });
    if (this.#listeners.size > 0) {
      const entry = parseAccessLine(line, time);
      if (entry !== null) for (const listener of this.#listeners) listener(entry);
    }
    if (this.#dir === null) return;
    // Written in batches: one append per app every FLUSH_MS, not one per request (an
    // open-write-close per request cost the daemon more CPU than HAProxy spent on it).
    const pending = this.#pending.get(app) ?? [];
    pending.push(fileLine(time, line));
    this.#pending.set(app, pending);
    this.#flushTimer ??= setTimeout(() => {
      this.#flush();
    }, FLUSH_MS);
  }

  /** Hands every app's pending lines to the (serialized) writer. */
  #flush(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const dir = this.#dir;
    if (dir === null) return;
    for (const [app, lines] of this.#pending) {
      const text = lines.join("");
      this.#writes = this.#writes.then(() => this.#append(dir, app, text)).catch(() => undefined);
    }
    this.#pending.clear();
  }

  /** Appends to APP.log, rotating it to APP.log.1 once it passes the size limit. */
  async #append(dir: string, app: string, text: string): Promise<void> {
    const file = join(dir, `${app}.log`);
    const bytes = Buffer.byteLength(text);
    let size = this.#fileBytes.get(app);
    if (size === undefined)
      size = await stat(file).then(
        (s) => s.size,
        () => 0,
      );
    if (size + bytes > this.#maxFileBytes && size > 0) {
      await rename(file, `${file}.1`);
      size = 0;
    }
    await appendFile(file, text, { mode: 0o600 });
    this.#fileBytes.set(app, size + bytes);
  }

  /** Writes what is pending now, and resolves when it is on disk. */
  async flush(): Promise<void> {
    this.#flush();
    await this.#writes;
  }

  /** An app's most recent requests, oldest first. */
  recent(app: string, limit = 100): AccessLogEntry[] {
    const entries: AccessLogEntry[] = [];
    for (const { time, line } of this.#recent.get(app)?.last(limit) ?? []) {
      const entry = parseAccessLine(line, time);
      if (entry !== null) entries.push(entry);
    }
    return entries;
  }

  /** Response-time percentiles (ms) over the app's recent requests. */
  percentiles(app: string): { p50: number; p90: number; p99: number; samples: number } {
    const durations = this.recent(app, this.#keep).map((e) => e.durationMs);
    return {
      p50: quantile(durations, 0.5),
      p90: quantile(durations, 0.9),
      p99: quantile(durations, 0.99),
      samples: durations.length,
    };
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const connection of this.#connections) connection.destroy();
    if (server !== null)
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    this.#flush();
    await this.#writes;
  }
}

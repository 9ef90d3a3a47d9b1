import { once } from "node:events";
import { request, type IncomingMessage } from "node:http";
import type { Duplex, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DriverError } from "../../domain/errors.ts";
import { mapEngineError, type Subject } from "./api-errors.ts";

/** Docker Engine API version Slipway speaks; Podman 4 serves it as its "compat" API. */
export const COMPAT_API = "/v1.41";
/** Podman's own API, for the few facts the compat API hides (user-namespace mappings). */
export const LIBPOD_API = "/v4.3.0/libpod";

export type QueryValue = string | number | boolean | readonly string[] | undefined;
/** Query parameters; a list becomes repeated keys (`changes=..&changes=..`). */
export type Query = Readonly<Record<string, QueryValue>>;

export interface RequestOptions {
  readonly query?: Query;
  /** A JSON request body. */
  readonly json?: unknown;
  /** A streamed request body (a tar archive), sent with chunked encoding. */
  readonly body?: Readable;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /**
   * Milliseconds before the request is abandoned, body included. null waits as long as
   * the signal allows (wait, logs --follow, archives).
   */
  readonly timeoutMs?: number | null;
  /** Which API the path belongs to; default compat. */
  readonly api?: "compat" | "libpod";
  /** Names the object in a NotFoundError when the path alone would not. */
  readonly subject?: Subject;
}

export interface DockerApiClientOptions {
  /** The engine's unix socket, e.g. /run/slipway/podman.sock */
  readonly socketPath: string;
  /** Timeout of requests that do not set their own; default two minutes. */
  readonly defaultTimeoutMs?: number;
}

const MAX_JSON_BYTES = 32 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;

/** What the driver needs from a client; a stub of it unit-tests the driver's logic. */
export interface EngineApi {
  json(method: string, path: string, options?: RequestOptions): Promise<unknown>;
  text(method: string, path: string, options?: RequestOptions): Promise<string>;
  stream(method: string, path: string, options?: RequestOptions): Promise<Readable>;
  /** Switches the connection to a raw stream (`Upgrade: tcp`, as `docker attach` does). */
  upgrade(method: string, path: string, options?: RequestOptions): Promise<Duplex>;
}

/**
 * A small Docker Engine API client over a unix socket, on node:http alone. It knows
 * nothing about containers: it sends JSON or tar, returns JSON or a stream, and turns
 * every failure into a typed error (404 → NotFoundError, 409 → ConflictError, anything
 * else and connection failures → DriverError with the engine's message and a cause).
 * An abort by the caller's signal surfaces as the signal's own reason.
 */
export class DockerApiClient implements EngineApi {
  readonly socketPath: string;
  readonly #defaultTimeoutMs: number;

  constructor(options: DockerApiClientOptions) {
    this.socketPath = options.socketPath;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? 120_000;
  }

  /** Sends a request and parses the JSON answer; an empty answer (204, 304) is undefined. */
  async json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const text = await this.text(method, path, options);
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new DriverError("engine", `${method} ${path}: the answer is not JSON`, {
        cause: error,
      });
    }
  }

  /** Sends a request and returns the whole answer as text (ping, progress streams). */
  async text(method: string, path: string, options: RequestOptions = {}): Promise<string> {
    const { signal, describe } = this.#signalFor(method, path, options);
    const response = await this.#send(method, path, options, signal, describe);
    try {
      return await readText(response, MAX_JSON_BYTES);
    } catch (error) {
      throw describe(error);
    }
  }

  /**
   * Sends a request and returns the answer's body as a stream (logs, archives, progress).
   * The caller consumes or destroys it; the timeout and signal keep applying while it reads.
   */
  async stream(method: string, path: string, options: RequestOptions = {}): Promise<Readable> {
    const { signal, describe } = this.#signalFor(method, path, options);
    return this.#send(method, path, options, signal, describe);
  }

  /**
   * Asks the engine to switch the connection to a raw stream (`Upgrade: tcp`, as `docker
   * attach` does) and returns it once the engine agreed (101): what is written goes to
   * the container's stdin, what is read is its output. An engine that answers without
   * switching is refused, since the stream could not carry stdin.
   */
  async upgrade(method: string, path: string, options: RequestOptions = {}): Promise<Duplex> {
    const { signal, describe } = this.#signalFor(method, path, { timeoutMs: 30_000, ...options });
    const req = request({
      socketPath: this.socketPath,
      method,
      path: `${COMPAT_API}${path}${queryString(options.query)}`,
      headers: { connection: "Upgrade", upgrade: "tcp" },
      ...(signal === undefined ? {} : { signal }),
    });
    req.end();
    const switched = once(req, "upgrade") as Promise<[IncomingMessage, Duplex, Buffer]>;
    const answered = once(req, "response") as Promise<[IncomingMessage]>;
    let outcome: { socket: Duplex; head: Buffer } | { response: IncomingMessage };
    try {
      outcome = await Promise.race([
        switched.then(([, socket, head]) => ({ socket, head })),
        answered.then(([response]) => ({ response })),
      ]);
    } catch (error) {
      throw describe(error);
    }
    if ("response" in outcome) {
      const { response } = outcome;
      const status = response.statusCode ?? 0;
      const body = await readText(response, MAX_ERROR_BYTES).catch(() => "");
      if (status >= 400) throw mapEngineError(method, path, status, body, options.subject);
      throw new DriverError("engine", `${method} ${path}: the engine did not switch protocols`);
    }
    const { socket, head } = outcome;
    if (head.length > 0) socket.unshift(head);
    return socket;
  }

  #signalFor(
    method: string,
    path: string,
    options: RequestOptions,
  ): { signal: AbortSignal | undefined; describe: (error: unknown) => unknown } {
    const timeoutMs = options.timeoutMs === undefined ? this.#defaultTimeoutMs : options.timeoutMs;
    const timeout = timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs);
    const signals = [options.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
    const describe = (error: unknown): unknown => {
      if (options.signal?.aborted === true) return options.signal.reason;
      if (timeout?.aborted === true) {
        return new DriverError("engine", `${method} ${path}: no answer within ${timeoutMs} ms`, {
          cause: error,
        });
      }
      if (error instanceof DriverError) return error;
      const message = error instanceof Error ? error.message : String(error);
      return new DriverError(
        "engine",
        `${method} ${path}: ${message} (socket ${this.socketPath})`,
        {
          cause: error,
        },
      );
    };
    return { signal, describe };
  }

  async #send(
    method: string,
    path: string,
    options: RequestOptions,
    signal: AbortSignal | undefined,
    describe: (error: unknown) => unknown,
  ): Promise<IncomingMessage> {
    const prefix = options.api === "libpod" ? LIBPOD_API : COMPAT_API;
    const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
    const headers: Record<string, string> = {};
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    } else if (options.body !== undefined) {
      headers["content-type"] = options.contentType ?? "application/x-tar";
    }
    const req = request({
      socketPath: this.socketPath,
      method,
      path: `${prefix}${path}${queryString(options.query)}`,
      headers,
      ...(signal === undefined ? {} : { signal }),
    });
    // The upload runs alongside the wait for an answer: an engine may answer (an error)
    // before it has read the whole body, and then the answer is what matters.
    const upload = options.body === undefined ? undefined : settle(pipeline(options.body, req));
    if (upload === undefined) req.end(payload);

    let response: IncomingMessage;
    try {
      [response] = (await once(req, "response")) as [IncomingMessage];
    } catch (error) {
      const uploadError = upload === undefined ? undefined : (await upload).error;
      throw describe(uploadError ?? error);
    }
    const status = response.statusCode ?? 0;
    if (status >= 400) {
      let body: string;
      try {
        body = await readText(response, MAX_ERROR_BYTES);
      } catch (error) {
        throw describe(error);
      }
      throw mapEngineError(method, path, status, body, options.subject);
    }
    const uploadError = upload === undefined ? undefined : (await upload).error;
    if (uploadError !== undefined) {
      response.destroy();
      throw describe(uploadError);
    }
    return response;
  }
}

/** Formats query parameters; lists become repeated keys, undefined values are left out. */
export function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (typeof value === "object") {
      for (const item of value) params.append(key, item);
    } else {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

/** Reads a whole body as UTF-8, refusing bodies above maxBytes. */
async function readText(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      stream.destroy();
      throw new DriverError("engine", `answer larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Turns a promise into one that never rejects, so it can be awaited later without races. */
async function settle(promise: Promise<void>): Promise<{ error: unknown }> {
  try {
    await promise;
    return { error: undefined };
  } catch (error) {
    return { error };
  }
}

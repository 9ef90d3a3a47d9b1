import { readFile } from "node:fs/promises";
import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { createInterface } from "node:readline";
import type { Duplex, Readable } from "node:stream";
import type { Problem } from "../api/problem.ts";
import type { Credentials } from "../security/tokens.ts";
import { ApiError, ConnectionError } from "./errors.ts";

/** Idle time after which a request (not a followed log) is given up. */
const IDLE_TIMEOUT_MS = 120_000;

interface Endpoint {
  readonly socket: string | null;
  readonly url: URL | null;
  readonly ca: Buffer | undefined;
}

/**
 * A thin client of the Slipway REST API: node:http over the local unix socket, or https to
 * a remote URL trusting the CA file from the credentials. Error responses become ApiError
 * carrying the problem's detail; transport failures become ConnectionError.
 */
export class ApiClient {
  readonly #endpoint: Endpoint;
  readonly #token: string;

  private constructor(endpoint: Endpoint, token: string) {
    this.#endpoint = endpoint;
    this.#token = token;
  }

  /** A client for these credentials (the socket wins over the URL when both are set). */
  static async connect(credentials: Credentials): Promise<ApiClient> {
    const url =
      credentials.socket === null && credentials.url !== null ? new URL(credentials.url) : null;
    let ca: Buffer | undefined;
    if (url !== null && credentials.ca !== null) {
      try {
        ca = await readFile(credentials.ca);
      } catch (error) {
        throw new ConnectionError(`cannot read the CA file ${credentials.ca}`, { cause: error });
      }
    }
    return new ApiClient({ socket: credentials.socket, url, ca }, credentials.token);
  }

  /** Where requests go, for messages. */
  get target(): string {
    return this.#endpoint.socket ?? this.#endpoint.url?.href ?? "?";
  }

  /**
   * GET a JSON resource. T is trusted, not checked: the CLI and the API ship together and
   * the API's types (src/domain, src/api) are the contract.
   */
  async get<T>(path: string): Promise<T> {
    return parseJson(await this.#exchange("GET", path)) as T;
  }

  /** POST a JSON body, returning the JSON answer. */
  async post<T>(path: string, body: unknown): Promise<T> {
    const data = Buffer.from(JSON.stringify(body));
    return parseJson(
      await this.#exchange("POST", path, { "Content-Type": "application/json" }, data),
    ) as T;
  }

  /** DELETE a resource. */
  async delete(path: string): Promise<void> {
    await this.#exchange("DELETE", path);
  }

  /**
   * POSTs a stream (chunked), reporting bytes sent. If the server answers before the body
   * is through (413 as the limit passes), sending stops and its answer is what counts.
   */
  async upload<T>(
    path: string,
    body: Readable,
    contentType: string,
    onProgress: (bytesSent: number) => void = () => undefined,
  ): Promise<T> {
    const { req, response } = this.#open(
      "POST",
      path,
      { "Content-Type": contentType },
      IDLE_TIMEOUT_MS,
    );
    // Settles once: with the response, or with the connection's error. Never rejects, so
    // it can be raced and awaited later without an unhandled rejection.
    const outcome = response.then(
      (res) => ({ res }),
      (error: unknown) => ({ error }),
    );
    const state = { answered: false };
    void outcome.then(() => {
      state.answered = true;
    });
    let bodyError: unknown;
    try {
      let sent = 0;
      for await (const chunk of body) {
        if (state.answered) break;
        const bytes = chunk as Buffer;
        sent += bytes.length;
        if (!req.write(bytes)) await Promise.race([drained(req), outcome]);
        onProgress(sent);
      }
      if (!state.answered) req.end();
    } catch (error) {
      // Packing failed (a file vanished): abandon the request rather than send a truncated
      // archive the server would take for a complete one.
      bodyError = error;
      req.destroy();
    } finally {
      body.destroy();
    }
    const result = await outcome;
    // Whatever the server said (a 413 as the limit passed) is more useful than a broken pipe.
    if ("res" in result) {
      try {
        return parseJson(await readOk(result.res)) as T;
      } finally {
        // An upload cut short leaves the request unfinished; close its socket.
        if (!req.writableFinished) req.destroy();
      }
    }
    throw bodyError ?? result.error;
  }

  /** GET a text resource line by line as it streams (a followed build log). */
  async *lines(path: string): AsyncGenerator<string> {
    const { req, response } = this.#open("GET", path, { Accept: "text/plain" }, 0);
    req.end();
    const res = await response;
    if (!isOk(res)) await readOk(res);
    try {
      for await (const line of createInterface({ input: res, crlfDelay: Infinity })) yield line;
    } finally {
      res.destroy();
    }
  }

  /**
   * POSTs to an endpoint that switches the connection to a raw stream (101, `Upgrade:
   * tcp`: an interactive one-off's terminal) and returns it. Any other answer is an error.
   */
  async upgrade(path: string): Promise<Duplex> {
    const { req, response } = this.#open(
      "POST",
      path,
      { Connection: "Upgrade", Upgrade: "tcp" },
      IDLE_TIMEOUT_MS,
    );
    req.end();
    const switched = new Promise<Socket>((resolve) => {
      req.once("upgrade", (_res: IncomingMessage, socket: Socket, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
    });
    const answered = response.then(async (res) => {
      await readOk(res);
      throw new ConnectionError(`${this.target} did not switch protocols for ${path}`);
    });
    const socket = await Promise.race([switched, answered]);
    // A terminal may sit idle for long: the request timeout no longer applies.
    req.setTimeout(0);
    socket.setTimeout(0);
    return socket;
  }

  async #exchange(
    method: string,
    path: string,
    headers: OutgoingHttpHeaders = {},
    body?: Buffer,
  ): Promise<Buffer> {
    const { req, response } = this.#open(method, path, headers, IDLE_TIMEOUT_MS);
    req.end(body);
    return readOk(await response);
  }

  #open(
    method: string,
    path: string,
    extraHeaders: OutgoingHttpHeaders,
    timeoutMs: number,
  ): { req: ClientRequest; response: Promise<IncomingMessage> } {
    const headers: OutgoingHttpHeaders = {
      Accept: "application/json, application/problem+json",
      Authorization: `Bearer ${this.#token}`,
      "User-Agent": "slipway-cli",
      ...extraHeaders,
    };
    const { socket, url, ca } = this.#endpoint;
    let req: ClientRequest;
    if (socket !== null) {
      req = httpRequest({ socketPath: socket, path, method, headers });
    } else if (url !== null) {
      const target = new URL(url.pathname.replace(/\/$/, "") + path, url);
      const options = { method, headers, ...(ca === undefined ? {} : { ca }) };
      req =
        target.protocol === "https:" ? httpsRequest(target, options) : httpRequest(target, options);
    } else {
      throw new ConnectionError("the credentials name no API socket or URL");
    }
    if (timeoutMs > 0) {
      req.setTimeout(timeoutMs, () => {
        req.destroy(new ConnectionError(`no answer from ${this.target} in ${timeoutMs / 1000} s`));
      });
    }
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once("response", resolve);
      req.once("error", (error) => {
        reject(error instanceof ConnectionError ? error : connectionError(this.target, error));
      });
    });
    // Errors after the response (a reset while discarding the rest of an upload) are moot;
    // this keeps them from surfacing as an unhandled 'error' event.
    req.on("error", () => undefined);
    return { req, response };
  }
}

/** Resolves when req can take more data; request errors settle the response instead. */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => req.once("drain", resolve));
}

function isOk(res: IncomingMessage): boolean {
  const status = res.statusCode ?? 0;
  return status >= 200 && status < 300;
}

/** Reads the body; throws ApiError with the problem's detail unless the status is 2xx. */
async function readOk(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  if (isOk(res)) return body;
  const status = res.statusCode ?? 0;
  const problem = parseProblem(res.headers["content-type"], body);
  const detail =
    problem?.detail ??
    `HTTP ${status}: ${body.toString("utf8").slice(0, 200) || res.statusMessage || ""}`;
  throw new ApiError(status, detail, problem);
}

function parseProblem(contentType: string | undefined, body: Buffer): Problem | undefined {
  if (contentType?.startsWith("application/problem+json") !== true) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new ConnectionError("the API sent a malformed problem document", { cause: error });
  }
  if (
    typeof value !== "object" ||
    value === null ||
    !("detail" in value) ||
    typeof value.detail !== "string"
  ) {
    return undefined;
  }
  // The document came from our own API (src/api/problem.ts); detail, the one field the CLI
  // relies on, was checked above.
  return value as Problem;
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new ConnectionError("the API sent a response that is not JSON", { cause: error });
  }
}

function connectionError(target: string, error: Error): ConnectionError {
  const code = "code" in error && typeof error.code === "string" ? error.code : undefined;
  const hint =
    code === "ECONNREFUSED" || code === "ENOENT"
      ? " (is the Slipway daemon running? `slipway up` starts it)"
      : code === "EACCES"
        ? " (permission denied: is your user allowed to use this socket?)"
        : "";
  return new ConnectionError(`cannot reach the Slipway API at ${target}: ${error.message}${hint}`, {
    cause: error,
  });
}

import { request as httpsRequest } from "node:https";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";

/** A response read whole. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * One HTTP(S) request with an optional extra trusted CA (a test ACME server such as
 * Pebble has its own). Small on purpose: ACME bodies are a few kilobytes.
 */
export function send(
  url: string,
  options: {
    readonly method: "GET" | "HEAD" | "POST";
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
    readonly ca?: string;
    readonly timeoutMs?: number;
  },
): Promise<HttpResponse> {
  const target = new URL(url);
  const request = target.protocol === "http:" ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method,
        headers: {
          "user-agent": "slipway-acme/1",
          ...options.headers,
          ...(options.body === undefined
            ? {}
            : { "content-length": String(Buffer.byteLength(options.body)) }),
        },
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > 1024 * 1024) {
            req.destroy(new Error(`response from ${target.host} is larger than 1 MiB`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url} did not answer in time`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

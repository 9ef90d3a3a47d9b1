import { readFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ObservedSite } from "./observatory-score.ts";

/** Where the router listens, to probe an app through it as a browser would. */
export interface ProbeTarget {
  /** The app's host name (its platform host). */
  readonly host: string;
  /** Address to connect to (the router's bind address; loopback for 0.0.0.0 and ::). */
  readonly address: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** PEM file of the CA the router's certificate chains to. */
  readonly caFile: string;
}

const TIMEOUT_MS = 10_000;

/** Fetches `/` of the app over HTTPS and over plain HTTP (without following redirects). */
export async function probeSite(target: ProbeTarget): Promise<ObservedSite> {
  const ca = await readFile(target.caFile, "utf8");
  const address = connectAddress(target.address);
  const https = await answer(
    httpsRequest({
      host: address,
      port: target.httpsPort,
      servername: target.host,
      headers: { host: authority(target.host, target.httpsPort, 443) },
      ca,
      timeout: TIMEOUT_MS,
    }),
  );
  const http = await answer(
    httpRequest({
      host: address,
      port: target.httpPort,
      headers: { host: authority(target.host, target.httpPort, 80) },
      timeout: TIMEOUT_MS,
    }),
  ).catch(() => null);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(https.headers)) {
    if (value !== undefined && name !== "set-cookie") {
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
  }
  return {
    headers,
    cookies: https.headers["set-cookie"] ?? [],
    http:
      http === null
        ? null
        : { status: http.statusCode ?? 0, location: http.headers.location ?? null },
    host: target.host,
  };
}

function answer(req: ReturnType<typeof httpRequest>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.once("response", (res: IncomingMessage) => {
      res.resume();
      resolve(res);
    });
    req.once("timeout", () => req.destroy(new Error("the app did not answer in time")));
    req.once("error", reject);
    req.end();
  });
}

function connectAddress(bind: string): string {
  if (bind === "0.0.0.0") return "127.0.0.1";
  if (bind === "::") return "::1";
  return bind;
}

function authority(host: string, port: number, standard: number): string {
  return port === standard ? host : `${host}:${port}`;
}

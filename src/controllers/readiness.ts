import { request } from "node:http";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { pollDelayMs } from "../domain/poll-delay.ts";

/** How long a new container is looked at every FAST_LOOK_MS: most apps boot in that time. */
const FAST_LOOKS_MS = 250;
const FAST_LOOK_MS = 2;

/**
 * Pause after the n-th failed check: every 2 ms for the first 250 ms (a Node.js app
 * listens 25-60 ms after its start, and every millisecond it waits for the next look is
 * deploy time; a refused connection costs the host a few microseconds), then 25, 50, 100,
 * then every 200 ms.
 */
export const retryDelayMs = (attempt: number): number => {
  const fast = FAST_LOOKS_MS / FAST_LOOK_MS;
  return attempt < fast ? FAST_LOOK_MS : pollDelayMs(attempt - fast);
};

/** Resolves true once address:port accepts a TCP connection, false if it never does in time. */
export async function waitForTcp(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline && !signal.aborted; attempt++) {
    if (await tryConnect(address, port, Math.min(1000, deadline - Date.now()))) return true;
    await sleep(retryDelayMs(attempt), undefined, { signal }).catch(() => undefined);
  }
  return false;
}

/** One connection attempt, closed right away. */
export function tryConnect(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: Math.max(1, timeoutMs) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => {
      done(true);
    });
    socket.once("timeout", () => {
      done(false);
    });
    socket.once("error", () => {
      done(false);
    });
  });
}

/**
 * Readiness of an app container: with a health check path, an HTTP GET of it must answer
 * 2xx or 3xx; without one, the port must accept a TCP connection. Resolves false if that
 * never happens within timeoutMs.
 */
export async function waitForHealthy(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  path?: string | null,
): Promise<boolean> {
  if (path === undefined || path === null) return waitForTcp(address, port, timeoutMs, signal);
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline && !signal.aborted; attempt++) {
    const status = await httpStatus(address, port, path, Math.min(2000, deadline - Date.now()));
    if (status >= 200 && status < 400) return true;
    await sleep(retryDelayMs(attempt), undefined, { signal }).catch(() => undefined);
  }
  return false;
}

/** One GET; the status code, or 0 when there was no answer in time. */
export function httpStatus(
  address: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: address, port, path, method: "GET", timeout: Math.max(1, timeoutMs), agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.once("timeout", () => {
      req.destroy();
      resolve(0);
    });
    req.once("error", () => {
      resolve(0);
    });
    req.end();
  });
}

import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** Resolves true once address:port accepts a TCP connection, false if it never does in time. */
export async function waitForTcp(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    if (await tryConnect(address, port, Math.min(1000, deadline - Date.now()))) return true;
    await sleep(200, undefined, { signal }).catch(() => undefined);
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

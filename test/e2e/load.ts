/**
 * Load and polling helpers shared by the runtime e2e test and bench/zero-downtime.ts: a
 * bounded client loop on loopback that counts failures and records latencies, waitFor,
 * and raw calls to the installation's own engine socket.
 */
import { request } from "node:http";
import { join } from "node:path";
import type { TestPlatform } from "./harness.ts";

export interface LoadStats {
  ok: number;
  failed: number;
  errors: string[];
  /** Milliseconds per successful request, in order. */
  latencies: number[];
  bodies: Set<string>;
}

/**
 * Requests back to back (`concurrency` loops) until stopped, 5 minutes at most. Each
 * request opens its own connection unless keepAlive is asked for.
 */
export function loadLoop(
  p: TestPlatform,
  host: string,
  options: { concurrency?: number; keepAlive?: boolean; path?: string } = {},
): { stats: LoadStats; stop: () => Promise<LoadStats> } {
  const stats: LoadStats = { ok: 0, failed: 0, errors: [], latencies: [], bodies: new Set() };
  const control = { running: true };
  const deadline = Date.now() + 300_000;
  // Counted always, kept up to a hundred: a loop left running must not fill the memory.
  const failure = (what: string): void => {
    stats.failed += 1;
    if (stats.errors.length < 100) stats.errors.push(`${new Date().toISOString()} ${what}`);
  };
  const one = async (): Promise<void> => {
    while (control.running && Date.now() < deadline) {
      const start = performance.now();
      try {
        const res = await p.get(host, options.path ?? "/", {
          keepAlive: options.keepAlive ?? false,
        });
        if (res.status === 200) {
          stats.ok += 1;
          stats.latencies.push(performance.now() - start);
          const match = /Hello[a-z ]*from Slipway/.exec(res.body);
          if (match) stats.bodies.add(match[0]);
        } else {
          failure(`HTTP ${String(res.status)}`);
        }
      } catch (error) {
        failure(String(error));
      }
    }
  };
  const loops = Array.from({ length: options.concurrency ?? 1 }, () => one());
  return {
    stats,
    stop: async () => {
      control.running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** The q-quantile (0.99 for p99) of the values, in their unit; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** Polls check every 250 ms until it holds; throws after timeoutMs. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not met within ${String(timeoutMs)} ms`);
}

/** A request on the installation's own engine socket; resolves with status and JSON body. */
export function engineCall(
  p: TestPlatform,
  method: string,
  path: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: join(p.home, "run", "podman.sock"), path, method, headers: { host: "d" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          let body: unknown = text;
          try {
            body = text === "" ? null : JSON.parse(text);
          } catch {
            // Not JSON: keep the text.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

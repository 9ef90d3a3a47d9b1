/**
 * bench/zero-downtime: failed requests and p99 latency while the platform changes an app
 * under a continuous client load (4 loops on loopback, each request on a new TLS
 * connection): deploy, scale up, scale down, restart, config change and rollback; and the
 * time from `slipway scale web=N` until every new container answers through the router.
 *
 * Run: npx node bench/zero-downtime.ts   (needs root, Podman and HAProxy like the e2e tests;
 * about 5 minutes). Prints a table and writes its section of docs/benchmarks.md.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { must, startPlatform, type TestPlatform } from "../test/e2e/harness.ts";
import { loadLoop, quantile, waitFor, type LoadStats } from "../test/e2e/load.ts";

const root = join(import.meta.dirname, "..");
const example = join(root, "examples", "hello-node");
const host = "bench.slipway.localhost";
const CONCURRENCY = 4;

interface PsEntry {
  readonly id: string;
  readonly type: string;
  readonly release: number;
  readonly state: string;
  readonly ready: boolean;
}

interface Row {
  readonly operation: string;
  readonly seconds: number;
  readonly requests: number;
  readonly failed: number;
  readonly p50: number;
  readonly p99: number;
  readonly note: string;
}

async function ps(p: TestPlatform): Promise<PsEntry[]> {
  const r = await must(p.cli(["ps", "--app", "bench", "--json"]), "ps");
  return (JSON.parse(r.stdout) as PsEntry[]).filter((c) => c.type === "web");
}

async function readyIds(p: TestPlatform): Promise<string[]> {
  return (await ps(p)).filter((c) => c.state === "running" && c.ready).map((c) => c.id);
}

/** Runs op under load, waits until settled() holds, and measures. */
async function measure(
  p: TestPlatform,
  operation: string,
  op: () => Promise<void>,
  settled: () => Promise<boolean>,
  note = "",
): Promise<Row> {
  const load = loadLoop(p, host, { concurrency: CONCURRENCY });
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = performance.now();
  let stats: LoadStats;
  try {
    await op();
    await waitFor(settled, 180_000, operation);
  } finally {
    await new Promise((r) => setTimeout(r, 1000));
    stats = await load.stop();
  }
  const row: Row = {
    operation,
    seconds: (performance.now() - t0) / 1000,
    requests: stats.ok + stats.failed,
    failed: stats.failed,
    p50: quantile(stats.latencies, 0.5),
    p99: quantile(stats.latencies, 0.99),
    note: note === "" && stats.failed > 0 ? stats.errors.slice(0, 2).join("; ") : note,
  };
  process.stderr.write(`${JSON.stringify(row)}\n`);
  return row;
}

/** Time from `scale web=N` until N distinct containers (hostnames) answered through the router. */
async function timeToServe(p: TestPlatform, n: number): Promise<number> {
  const t0 = performance.now();
  await must(p.cli(["scale", `web=${String(n)}`, "--app", "bench"]), "scale");
  const seen = new Set<string>();
  const deadline = Date.now() + 180_000;
  while (seen.size < n && Date.now() < deadline) {
    const res = await p.get(host).catch(() => undefined);
    const match = /on (\S+)\n/.exec(res?.body ?? "");
    if (match?.[1] !== undefined) seen.add(match[1]);
  }
  if (seen.size < n)
    throw new Error(`only ${String(seen.size)} of ${String(n)} containers answered`);
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "sw-bench-"));
  const p = await startPlatform();
  const rows: Row[] = [];
  const scaleTimes: [number, number][] = [];
  try {
    await must(p.cli(["apps:create", "bench"]), "apps:create");
    await must(p.cli(["deploy", example, "--app", "bench"]), "first deploy");
    await must(p.cli(["runtime", "--app", "bench", "--stop-grace", "10"]), "runtime");
    const help = (await must(p.cli(["help"]), "help")).stdout;

    const v2 = join(work, "v2");
    cpSync(example, v2, { recursive: true });
    const server = join(v2, "server.js");
    writeFileSync(
      server,
      readFileSync(server, "utf8").replace("Hello from Slipway", "Hello again from Slipway"),
    );
    let before = await readyIds(p);
    rows.push(
      await measure(
        p,
        "deploy (new build, 1 container)",
        async () => {
          await must(p.cli(["deploy", v2, "--app", "bench"]), "deploy v2");
        },
        async () => (await readyIds(p)).every((id) => !before.includes(id)),
      ),
    );

    rows.push(
      await measure(
        p,
        "scale up web=1 -> 3",
        async () => {
          await must(p.cli(["scale", "web=3", "--app", "bench"]), "scale up");
        },
        async () => (await readyIds(p)).length === 3,
      ),
    );
    before = await readyIds(p);
    rows.push(
      await measure(
        p,
        "restart (3 containers, rolling)",
        async () => {
          await must(p.cli(["restart", "--app", "bench"]), "restart");
        },
        async () => {
          const ids = await readyIds(p);
          return (
            ids.length === 3 &&
            ids.every((id) => !before.includes(id)) &&
            (await ps(p)).length === 3
          );
        },
      ),
    );
    rows.push(
      await measure(
        p,
        "scale down web=3 -> 1",
        async () => {
          await must(p.cli(["scale", "web=1", "--app", "bench"]), "scale down");
        },
        async () => (await ps(p)).length === 1,
      ),
    );

    if (help.includes("env:set")) {
      before = await readyIds(p);
      rows.push(
        await measure(
          p,
          "config change (env:set)",
          async () => {
            await must(
              p.cli(["env:set", "GREETING=Hello config from Slipway", "--app", "bench"]),
              "env:set",
            );
          },
          async () =>
            (await readyIds(p)).every((id) => !before.includes(id)) &&
            (await ps(p)).length === 1 &&
            /Hello config/.test((await p.get(host)).body),
        ),
      );
    }
    if (help.includes("rollback")) {
      before = await readyIds(p);
      rows.push(
        await measure(
          p,
          "rollback to v1",
          async () => {
            await must(p.cli(["rollback", "v1", "--app", "bench"]), "rollback");
          },
          async () =>
            (await readyIds(p)).every((id) => !before.includes(id)) &&
            (await ps(p)).length === 1 &&
            /^Hello from Slipway/.test((await p.get(host)).body),
        ),
      );
    }

    for (const n of [2, 4]) {
      scaleTimes.push([n, await timeToServe(p, n)]);
      await must(p.cli(["scale", "web=1", "--app", "bench"]), "scale back");
      await waitFor(async () => (await ps(p)).length === 1, 120_000, "back to 1");
    }
  } finally {
    await p.stop();
    rmSync(work, { recursive: true, force: true });
  }
  report(rows, scaleTimes);
}

function report(rows: readonly Row[], scaleTimes: readonly [number, number][]): void {
  const fmt = (n: number, digits = 1): string => n.toFixed(digits);
  const lines = [
    "<!-- zero-downtime:start (written by bench/zero-downtime.ts) -->",
    "## Zero-downtime operations (bench/zero-downtime.ts)",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} on ${String(cpus().length)} cores (${cpus()[0]?.model ?? "?"}), examples/hello-node, ${String(CONCURRENCY)} client loops on loopback, each request a new TLS connection through HAProxy. Latencies in ms over the whole operation.`,
    "",
    "| operation | duration (s) | requests | failed | p50 (ms) | p99 (ms) | note |",
    "|---|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.operation} | ${fmt(r.seconds)} | ${String(r.requests)} | ${String(r.failed)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.note} |`,
    ),
    "",
    "Time from `slipway scale web=N` (from 1) until N distinct containers answered through the router:",
    "",
    "| N | seconds |",
    "|---:|---:|",
    ...scaleTimes.map(([n, s]) => `| ${String(n)} | ${fmt(s)} |`),
    "<!-- zero-downtime:end -->",
    "",
  ];
  const text = lines.join("\n");
  process.stdout.write(`${text}\n`);
  const file = join(root, "docs", "benchmarks.md");
  const existing = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const pattern = /<!-- zero-downtime:start[\s\S]*?<!-- zero-downtime:end -->\n?/;
  writeFileSync(
    file,
    pattern.test(existing) ? existing.replace(pattern, text) : `${existing.trimEnd()}\n\n${text}`,
  );
}

await main();

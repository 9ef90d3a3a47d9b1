/**
 * The runtime end to end on one platform with examples/hello-node deployed once: sizes and
 * scale validation, scale up, scale down and restart under a continuous client loop with
 * zero failed requests, a killed container replaced within seconds, a dead router started
 * again, one-off commands with their output and exit code, and app logs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { must, startPlatform, type TestPlatform } from "./harness.ts";
import { engineCall, loadLoop, waitFor } from "./load.ts";

const example = join(import.meta.dirname, "..", "..", "examples", "hello-node");
const host = "hello.slipway.localhost";

interface PsEntry {
  readonly id: string;
  readonly type: string;
  readonly release: number;
  readonly state: string;
  readonly ready: boolean;
  readonly size?: string;
  readonly restarts?: number;
  readonly crashLoop?: boolean;
  readonly memoryBytes?: number | null;
}

describe("runtime: scaling, restarts, crashes, one-offs and logs", { timeout: 600_000 }, () => {
  let p: TestPlatform;

  before(async () => {
    p = await startPlatform();
    await must(p.cli(["apps:create", "hello"]), "apps:create");
    await must(p.cli(["deploy", example, "--app", "hello"]), "deploy");
    // Short grace keeps the test quick; hello-node exits on SIGTERM anyway.
    await must(p.cli(["runtime", "--app", "hello", "--stop-grace", "5"]), "runtime");
  });
  after(async () => {
    await p.stop();
  });

  async function ps(): Promise<PsEntry[]> {
    const r = await must(p.cli(["ps", "--app", "hello", "--json"]), "ps");
    return JSON.parse(r.stdout) as PsEntry[];
  }
  async function readyWeb(): Promise<PsEntry[]> {
    return (await ps()).filter((c) => c.type === "web" && c.state === "running" && c.ready);
  }

  it("lists sizes and refuses bad scale requests with a clear message", async () => {
    const sizes = await must(p.cli(["sizes"]), "sizes");
    for (const name of ["S", "M", "L", "XL", "2XL"])
      assert.match(sizes.stdout, new RegExp(`^${name} `, "m"));
    for (const [arg, message] of [
      ["clock=1", /unknown process type "clock"/],
      ["web=1:XXXL", /unknown container size/],
      ["web=-1", /from 0 to 20/],
      ["web=21", /from 0 to 20/],
    ] as const) {
      const r = await p.cli(["scale", arg, "--app", "hello"]);
      assert.notEqual(r.code, 0, arg);
      assert.match(r.stderr, message);
    }
    const formation = await must(p.cli(["scale", "--app", "hello", "--json"]), "formation");
    assert.deepEqual(JSON.parse(formation.stdout), [
      {
        appId: (JSON.parse(formation.stdout) as { appId: string }[])[0]?.appId,
        type: "web",
        quantity: 1,
        size: "S",
      },
    ]);
  });

  it("scales up, scales down and restarts under load with no failed request", async () => {
    const load = loadLoop(p, host);
    // A client that keeps its connection open: replaced containers must drain it too.
    const keepAlive = loadLoop(p, host, { keepAlive: true });
    const marks: string[] = [];
    const mark = (what: string): void => {
      marks.push(`${new Date().toISOString()} ${what}`);
    };
    try {
      const t0 = Date.now();
      mark("scale up");
      await must(p.cli(["scale", "web=3", "--app", "hello"]), "scale up");
      await waitFor(async () => (await readyWeb()).length === 3, 60_000, "3 ready web");
      const scaleUpMs = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 1000));

      mark("scale down");
      await must(p.cli(["scale", "web=1:M", "--app", "hello"]), "scale down and resize");
      await waitFor(
        async () => {
          const web = (await ps()).filter((c) => c.type === "web");
          return web.length === 1 && web[0]?.size === "M" && web[0].ready;
        },
        90_000,
        "one M web",
      );

      const before = (await readyWeb()).map((c) => c.id);
      await must(p.cli(["healthcheck:set", "/health", "--app", "hello"]), "healthcheck:set");
      mark("restart");
      await must(p.cli(["restart", "--app", "hello"]), "restart");
      await waitFor(
        async () => {
          const web = await readyWeb();
          return web.length === 1 && !before.includes(web[0]?.id ?? "");
        },
        60_000,
        "restarted web",
      );
      await new Promise((r) => setTimeout(r, 1000));
      const stats = await load.stop();
      const kept = await keepAlive.stop();
      mark("done");
      assert.equal(
        stats.failed,
        0,
        `failed requests: ${stats.errors.slice(0, 5).join("; ")}; steps: ${marks.join("; ")}`,
      );
      assert.equal(
        kept.failed,
        0,
        `failed keep-alive requests: ${kept.errors.slice(0, 5).join("; ")}; steps: ${marks.join("; ")}`,
      );
      assert.ok(stats.ok > 20, `requests made: ${String(stats.ok)}`);
      assert.ok(kept.ok > 20, `keep-alive requests made: ${String(kept.ok)}`);
      assert.ok(scaleUpMs < 60_000);
    } finally {
      await load.stop();
      await keepAlive.stop();
    }
  });

  it("replaces a killed container within seconds and records why", async (t) => {
    const [web] = await readyWeb();
    assert.ok(web);
    const killed = await engineCall(p, "POST", `/v1.41/containers/${web.id}/kill?signal=KILL`);
    assert.equal(killed.status, 204);
    const t0 = Date.now();
    // The router answers 503 until the replacement passed its check: poll it alone, the
    // CLI is too slow a clock on a busy machine.
    await waitFor(async () => (await p.get(host)).status === 200, 30_000, "a replacement serving");
    const seconds = (Date.now() - t0) / 1000;
    t.diagnostic(`killed container replaced and serving in ${seconds.toFixed(1)} s`);
    assert.ok(seconds < 20, `replaced in ${String(seconds)} s`);
    const [replacement] = await readyWeb();
    assert.notEqual(replacement?.id, web.id);
    // The exit came from the engine's event stream, not a resync.
    const daemonLog = readFileSync(join(p.home, "logs", "daemon.log"), "utf8");
    assert.doesNotMatch(daemonLog, /engine event stream failed/);
    assert.equal(replacement?.restarts, 1);
    const logs = await must(p.cli(["logs", "--app", "hello", "--tail", "50"]), "logs");
    assert.match(logs.stdout, /container\.crashed .*exited with code 137/);
  });

  it("starts the router again when its processes die", async () => {
    // HAProxy's master exits when a worker fails (exit-on-failure), and every app with it.
    const pidFile = join(p.home, "run", "haproxy.pid");
    const pid = Number(readFileSync(pidFile, "utf8"));
    process.kill(-pid, "SIGKILL");
    await waitFor(
      async () => (await p.get(host).catch(() => ({ status: 0 }))).status === 200,
      30_000,
      "the router serving again",
    );
    assert.notEqual(Number(readFileSync(pidFile, "utf8")), pid);
    const daemonLog = () => readFileSync(join(p.home, "logs", "daemon.log"), "utf8");
    assert.match(daemonLog(), /the router's processes are gone; starting them again/);
    // Logged once the current routes are applied, which may be after the first answer.
    await waitFor(
      () => Promise.resolve(daemonLog().includes("router started again")),
      30_000,
      "the routes applied again",
    );
  });

  it("shows a crash loop and keeps its back-off and restart count across a daemon restart", async () => {
    // Two more kills after the one above: three crashes in a row is a crash loop.
    for (let kill = 2; kill <= 3; kill++) {
      const [web] = await readyWeb();
      assert.ok(web);
      await engineCall(p, "POST", `/v1.41/containers/${web.id}/kill?signal=KILL`);
      await waitFor(
        async () => (await readyWeb()).some((c) => c.id !== web.id && c.restarts === kill),
        60_000,
        `replacement #${String(kill)}`,
      );
    }
    const [looping] = await readyWeb();
    assert.equal(looping?.crashLoop, true);
    assert.equal(looping.restarts, 3);
    await must(p.cli(["down"]), "down");
    await must(p.cli(["up"]), "up again");
    await waitFor(async () => (await readyWeb()).length === 1, 60_000, "the adopted web ready");
    const [adopted] = await readyWeb();
    assert.equal(adopted?.id, looping.id, "the running container was adopted");
    assert.equal(adopted.restarts, 3, "the restart count survived the daemon restart");
    assert.equal(adopted.crashLoop, true, "so did the crash loop");
    await waitFor(async () => (await p.get(host)).status === 200, 30_000, "serving again");
  });

  it("replaces a container that stopped answering while the daemon was down", async () => {
    const [hung] = await readyWeb();
    assert.ok(hung);
    const inspect = await engineCall(p, "GET", `/v1.41/containers/${hung.id}/json`);
    const init = (inspect.body as { State: { Pid: number } }).State.Pid;
    await must(p.cli(["down"]), "down");
    // Freeze the app's process (the child of the container's init): the engine still says
    // "running", but nothing answers.
    const children = readFileSync(`/proc/${String(init)}/task/${String(init)}/children`, "utf8");
    const app = Number(children.trim().split(/\s+/)[0]);
    assert.ok(app > 0, "the app process under the container's init");
    process.kill(app, "SIGSTOP");
    await must(p.cli(["up"]), "up again");
    await waitFor(
      async () => (await readyWeb()).some((c) => c.id !== hung.id),
      60_000,
      "a replacement ready",
    );
    await waitFor(async () => (await p.get(host)).status === 200, 30_000, "serving again");
    await waitFor(
      async () => !(await ps()).some((c) => c.id === hung.id),
      60_000,
      "the frozen container removed",
    );
    const events = await must(p.cli(["events", "--app", "hello", "--json"]), "events");
    assert.match(events.stdout, /did not answer its check when the daemon started/);
  });

  it("runs one-off commands with their output and exit code", async () => {
    const r = await p.cli([
      "run",
      "--app",
      "hello",
      "--",
      // PID 1 is the engine's init (catatonit): signals reach the app, zombies are reaped.
      "echo out-from-run $SLIPWAY_APP; echo pid1=$(cat /proc/1/comm); exit 3",
    ]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /out-from-run hello/);
    assert.match(r.stdout, /pid1=(catatonit|podman-init|docker-init|tini)/);
    const missing = await p.cli(["run", "--app", "hello", "--", "no-such-command-xyz"]);
    assert.equal(missing.code, 127, missing.stderr);
    const node = await p.cli([
      "run",
      "--app",
      "hello",
      "--json",
      "--",
      "node",
      "-e",
      "console.log(6*7)",
    ]);
    assert.equal(node.code, 0, node.stderr);
    assert.deepEqual((JSON.parse(node.stdout) as { output: string[] }).output, ["42"]);
    // One-offs leave nothing behind and never show up as app processes.
    assert.ok((await ps()).every((c) => c.type === "web"));
  });

  it("runs a one-off interactively from a terminal: keystrokes in, window size, exit code", async () => {
    const r = await inTerminal(p, [
      "run",
      "--app",
      "hello",
      "--",
      'read line; echo "got:$line"; tty; stty size; exit 5',
    ]);
    assert.equal(r.code, 5, r.output);
    assert.match(r.output, /got:typed-in-the-terminal/);
    assert.match(r.output, /\/dev\/pts\/\d+/);
    assert.match(r.output, /^33 101\r?$/m);
    // The session left nothing behind: its container is removed once it ended.
    const filter = encodeURIComponent(JSON.stringify({ label: ["io.slipway.role=one-off"] }));
    await waitFor(
      async () => {
        const { body } = await engineCall(
          p,
          "GET",
          `/v1.41/containers/json?all=1&filters=${filter}`,
        );
        return Array.isArray(body) && body.length === 0;
      },
      30_000,
      "the one-off removed",
    );
  });

  it("merges app output, router lines and events by time, each tagged with its source", async () => {
    const r = await must(p.cli(["logs", "--app", "hello", "--type", "web", "--tail", "5"]), "logs");
    const time = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
    assert.match(
      r.stdout,
      new RegExp(`^${time} web\\.v1-[0-9a-f]{6}: hello-node listening on port 5000$`, "m"),
    );
    assert.equal((await p.get(host, "/from-the-logs-test")).status, 200);
    const all = (await must(p.cli(["logs", "--app", "hello", "--tail", "10000"]), "logs")).stdout;
    assert.match(all, new RegExp(`^${time} slipway: release\\.created v1 `, "m"));
    assert.match(
      all,
      new RegExp(`^${time} router: GET /from-the-logs-test 200 \\d+ms .*request_id=\\S+$`, "m"),
    );
    const times = all
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.slice(0, 24));
    assert.deepEqual(times, [...times].sort(), "in time order");
    const router = await must(p.cli(["logs", "--app", "hello", "--type", "router"]), "logs");
    assert.ok(router.stdout.split("\n").every((l) => l === "" || l.includes(" router: ")));
  });
});

/**
 * Runs the CLI in a pseudo-terminal of 33 rows and 101 columns (python3's pty module, as
 * a user's terminal would), types one line into it, and returns the screen and exit code.
 */
function inTerminal(
  p: TestPlatform,
  args: readonly string[],
): Promise<{ code: number; output: string }> {
  const driver = `
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    os.execv(sys.argv[1], sys.argv[1:])
os.write(fd, b"typed-in-the-terminal\\n")
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
`;
  const cli = join(import.meta.dirname, "..", "..", "bin", "slipway.js");
  return new Promise((resolve, reject) => {
    execFile(
      "python3",
      ["-c", driver, process.execPath, cli, ...args],
      { env: { ...process.env, ...p.env }, timeout: 120_000 },
      (error, stdout) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        if (code === -1) reject(error ?? new Error("no exit code"));
        else resolve({ code, output: stdout });
      },
    );
  });
}

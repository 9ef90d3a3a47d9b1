/**
 * Promise 2 (isolation), proven from inside real app containers: two apps deployed from
 * test/fixtures/isolation-app on one platform, probed through the engine's exec (podman
 * exec on the installation's own storage). The last cases use the second app for the
 * process lifecycle: the init reaping orphans, an app that ignores SIGTERM, and a release
 * whose HTTP health check fails.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { podmanEnv, podmanLayout } from "../../src/engine/podman-config.ts";
import { must, startPlatform, type TestPlatform, engineGet } from "./harness.ts";

const fixture = join(import.meta.dirname, "..", "fixtures", "isolation-app");
/** Where the Node.js buildpack puts node in the app image. */
const NODE = "/app/.heroku/node/bin/node";

interface PsEntry {
  readonly id: string;
  readonly type: string;
  readonly state: string;
  readonly address: string | null;
}

interface Exec {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A TCP connect from inside a container, with a 2 s timeout: prints "connected",
 * "timeout" or the error code. Node is the one tool every Node app image has.
 */
const CONNECT = `
const net = require("node:net");
const [host, port] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
const done = (what) => { console.log(what); s.destroy(); process.exit(0); };
s.setTimeout(2000, () => done("timeout"));
s.on("connect", () => done("connected"));
s.on("error", (e) => done(e.code));
`;

describe("isolation, from inside app containers", { timeout: 1_800_000 }, () => {
  let p: TestPlatform;
  let listener: Server;
  let listenerPort = 0;

  before(async () => {
    p = await startPlatform();
    listener = createServer((socket) => socket.end("host service\n"));
    // Every address, both families: what a careless host service does.
    await new Promise<void>((resolve) => listener.listen(0, "::", resolve));
    const address = listener.address();
    listenerPort = typeof address === "object" && address !== null ? address.port : 0;
    for (const app of ["iso-a", "iso-b"]) {
      await must(p.cli(["apps:create", app]), `apps:create ${app}`);
      await must(p.cli(["deploy", fixture, "--app", app], { timeoutMs: 900_000 }), "deploy");
    }
  });
  after(async () => {
    listener.close();
    await p.stop();
  });

  it("runs without capabilities, with no-new-privileges and a seccomp filter", async () => {
    const status = await mustExec(p, await web(p, "iso-a"), ["cat", "/proc/self/status"]);
    assert.match(status, /^CapEff:\s+0000000000000000$/m);
    assert.match(status, /^CapPrm:\s+0000000000000000$/m);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^Seccomp:\s+2$/m);
  });

  it("cannot write to its root filesystem, mount, or make namespaces, even as root", async () => {
    const id = await web(p, "iso-a");
    const touch = await exec(p, id, ["touch", "/x"], true);
    assert.notEqual(touch.code, 0);
    assert.match(touch.stderr, /Read-only file system/);
    const mount = await exec(p, id, ["mount", "-t", "tmpfs", "none", "/tmp"], true);
    assert.notEqual(mount.code, 0);
    assert.match(mount.stderr, /permission denied|not permitted/i);
    for (const [flag, root] of [
      ["-U", false],
      ["-U", true],
      ["-n", true],
      ["-m", true],
    ] as const) {
      const unshare = await exec(p, id, ["unshare", flag, "true"], root);
      assert.notEqual(unshare.code, 0, `unshare ${flag}`);
      assert.match(unshare.stderr, /Operation not permitted/, `unshare ${flag}`);
    }
  });

  it("sees none of the host's processes", async () => {
    const id = await web(p, "iso-a");
    const listing = await mustExec(p, id, [
      "sh",
      "-c",
      "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done",
    ]);
    const commands = listing.split("\n").filter((l) => l.trim() !== "");
    assert.ok(commands.length < 10, `only the container's processes: ${commands.join(" | ")}`);
    assert.ok(!listing.includes(p.home), "the daemon, podman and haproxy are invisible");
    // (podman-init is the container's own PID 1, the small init.)
    assert.ok(!/haproxy|conmon|systemd|podman system|aardvark|slipway\.js/.test(listing), listing);
  });

  it("reaches its own app but not another app's container nor host services (IPv4)", async () => {
    const a = await web(p, "iso-a");
    const [b] = (await ps(p, "iso-b")).filter((c) => c.address !== null);
    assert.ok(b?.address, "iso-b has an address");
    const [bHost = "", bPort = ""] = b.address.split(":");
    const own = (await ps(p, "iso-a")).find((c) => c.id === a)?.address ?? "";
    const [aHost = "", aPort = ""] = own.split(":");
    assert.equal(await connect(p, a, aHost, aPort), "connected", "the probe itself works");
    assert.match(await connect(p, a, bHost, bPort), /^(timeout|ECONNREFUSED|EHOSTUNREACH)$/);
    // The app's gateway is the host: a listener on every address must not answer.
    const gateway = aHost.replace(/\.\d+$/, ".1");
    assert.match(
      await connect(p, a, gateway, String(listenerPort)),
      /^(timeout|ECONNREFUSED|EHOSTUNREACH)$/,
    );
    // The host's other addresses are the host too.
    for (const address of hostAddresses("IPv4").slice(0, 3)) {
      assert.match(
        await connect(p, a, address, String(listenerPort)),
        /^(timeout|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH)$/,
        address,
      );
    }
  });

  it("cannot reach host services over IPv6 either (link-local through the bridge)", async () => {
    const a = await web(p, "iso-a");
    const bridge = await bridgeOf(p, a);
    const linkLocal = (networkInterfaces()[bridge] ?? []).find(
      (i) => i.family === "IPv6" && i.address.startsWith("fe80:"),
    );
    if (linkLocal === undefined) return; // IPv6 is off on the bridge: nothing to reach.
    assert.match(
      await connect(p, a, `${linkLocal.address}%eth0`, String(listenerPort)),
      /^(timeout|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|EINVAL)$/,
    );
  });

  it("stops a fork loop at the pids limit and keeps serving", async () => {
    const id = await web(p, "iso-a");
    // Each child waits on a FIFO whose only writer is the loop's shell, and ends when that
    // shell does (sh exits at its first failed fork): however slow forks are, the children
    // live until the limit is reached (a fixed `sleep` let them exit first on a slow
    // machine), and none outlives the loop.
    const loop = await exec(p, id, [
      "sh",
      "-c",
      [
        "mkfifo /tmp/hold",
        "exec 3<>/tmp/hold",
        "exec 4>/tmp/hold",
        "exec 3<&-",
        "i=0; while [ $i -lt 2000 ]; do (exec 4>&-; read line </tmp/hold) & i=$((i+1)); done",
        "echo spawned $i",
      ].join("; "),
    ]);
    assert.match(
      `${loop.stdout}${loop.stderr}`,
      /Cannot fork|Resource temporarily unavailable/,
      "the loop hit the pids limit",
    );
    await sleep(6_000);
    assert.equal((await p.get("iso-a.slipway.localhost")).status, 200);
  });

  it("kills a memory hog (137) and replaces an OOM-killed container", async () => {
    const old = await web(p, "iso-a");
    await mustExec(p, old, ["sh", "-c", "echo secret > /tmp/marker && cat /tmp/marker"]);
    const hog = await exec(p, old, [
      NODE,
      "-e",
      "const a = []; for (;;) a.push(Buffer.alloc(1 << 24, 1));",
    ]);
    assert.equal(hog.code, 137, `the hog was killed: ${hog.stderr}`);
    // Now the app process itself (unless the kernel already chose it over the hog): the
    // container exits and the formation controller replaces it with a fresh one.
    if ((await ps(p, "iso-a")).some((c) => c.id === old)) {
      assert.equal((await p.get("iso-a.slipway.localhost", "/hog")).status, 202);
    }
    let replacement: string | undefined;
    await waitFor(async () => {
      replacement = (await ps(p, "iso-a")).find((c) => c.id !== old && c.address !== null)?.id;
      return replacement !== undefined;
    }, 120_000);
    assert.ok(replacement !== undefined);
    const events = await appEvents(p, "iso-a");
    assert.ok(
      events.some((e) => e.type === "container.crashed" && /OOM|137/i.test(e.message)),
      `a crash event names the OOM kill: ${JSON.stringify(events.slice(0, 5))}`,
    );
    const marker = await exec(p, replacement, ["cat", "/tmp/marker"]);
    assert.notEqual(marker.code, 0, "/tmp starts empty after a restart");
  });

  it("passes `slipway doctor` and recorded no failed start audit", async () => {
    const doctor = await p.cli(["doctor", "--app", "iso-a", "--json"]);
    const answer = JSON.parse(doctor.stdout) as {
      failed: number;
      items: { items: { id: string; status: string; reason: string }[] }[];
    };
    const failed = answer.items.flatMap((a) => a.items.filter((i) => i.status === "fail"));
    assert.deepEqual(failed, []);
    assert.equal(doctor.code, 0);
    const ids = answer.items[0]?.items.map((i) => i.id) ?? [];
    for (const id of ["5.3", "5.12", "5.25", "5.28", "PSS-runAsNonRoot", "SW-seccomp"]) {
      assert.ok(ids.includes(id), id);
    }
    const text = await must(p.cli(["doctor", "--app", "iso-a"]), "doctor");
    assert.match(text.stdout, /5\.12\s+CIS Docker 1\.6\s+PASS/);
    const audits = (await appEvents(p, "iso-a")).filter((e) => e.type === "container.audit");
    assert.deepEqual(audits, []);
  });

  it("runs an init as PID 1 that reaps the app's orphaned children", async () => {
    const id = await web(p, "iso-b");
    assert.match(await mustExec(p, id, ["cat", "/proc/1/comm"]), /^(catatonit|podman-init|tini)/);
    // The app's shell exits and leaves `sleep 1` behind: re-parented to PID 1, it must be
    // reaped when it ends (an app as PID 1 would collect zombies instead).
    for (let i = 0; i < 3; i++) {
      assert.equal((await p.get("iso-b.slipway.localhost", "/orphan")).status, 202);
    }
    await sleep(3_000);
    const states = await mustExec(p, id, [
      "sh",
      "-c",
      "cat /proc/[0-9]*/stat 2>/dev/null | awk '{print $2, $3}'",
    ]);
    assert.doesNotMatch(states, / Z$/m, `no zombie left: ${states}`);
  });

  it("kills an app that ignores SIGTERM at the end of the grace period", async () => {
    await must(p.cli(["runtime", "--app", "iso-b", "--stop-grace", "3"]), "runtime");
    const set = await must(p.cli(["env:set", "IGNORE_SIGTERM=1", "--app", "iso-b"]), "env:set");
    assert.match(set.stdout, /is serving/);
    await waitFor(async () => (await ps(p, "iso-b")).length === 1, 60_000);
    const stubborn = await web(p, "iso-b");
    await must(p.cli(["restart", "--app", "iso-b"]), "restart");
    // The restart replaces the container that ignores SIGTERM: it gets SIGTERM, keeps
    // running, and the engine kills it when the 3 s grace period ends.
    await waitFor(async () => !(await ps(p, "iso-b")).some((c) => c.id === stubborn), 60_000);
    await waitFor(
      async () =>
        (await appEvents(p, "iso-b")).some(
          (e) =>
            e.type === "container.stopped" &&
            /killed after the 3 s grace period \(SIGTERM ignored\)/.test(e.message),
        ),
      30_000,
    );
    assert.equal((await p.get("iso-b.slipway.localhost")).status, 200);
  });

  it("fails a release whose HTTP health check fails; the previous one keeps serving", async () => {
    await must(p.cli(["runtime", "--app", "iso-b", "--boot-timeout", "8"]), "runtime");
    await must(p.cli(["healthcheck:set", "/health", "--app", "iso-b"]), "healthcheck:set");
    const serving = await web(p, "iso-b");
    const bad = await p.cli(["env:set", "UNHEALTHY=1", "--app", "iso-b"]);
    assert.notEqual(bad.code, 0, bad.stdout);
    assert.match(bad.stderr, /failed: .*did not answer GET \/health with 2xx or 3xx within 8 s/);
    assert.match(bad.stderr, /previous release keeps serving/);
    assert.equal((await p.get("iso-b.slipway.localhost")).status, 200);
    const releases = JSON.parse(
      (await must(p.cli(["releases", "--app", "iso-b", "--json"]), "releases")).stdout,
    ) as { status: string }[];
    assert.equal(releases[0]?.status, "failed");
    // The serving container was never touched, and the failed one is gone.
    await waitFor(async () => {
      const now = await ps(p, "iso-b");
      return now.length === 1 && now[0]?.id === serving;
    }, 60_000);
  });
});

async function ps(p: TestPlatform, app: string): Promise<PsEntry[]> {
  const r = await must(p.cli(["ps", "--app", app, "--json"]), "ps");
  return (JSON.parse(r.stdout) as PsEntry[]).filter((c) => c.state === "running");
}

async function web(p: TestPlatform, app: string): Promise<string> {
  const container = (await ps(p, app)).find((c) => c.type === "web" && c.address !== null);
  assert.ok(container, `${app} has a running web container`);
  return container.id;
}

async function appEvents(
  p: TestPlatform,
  app: string,
): Promise<{ type: string; message: string }[]> {
  const r = await must(p.cli(["events", "--app", app, "--json"]), "events");
  return JSON.parse(r.stdout) as { type: string; message: string }[];
}

/**
 * `podman exec` on the installation's own storage: exit code and output, never throws.
 * As the image's user (the app's), or as root inside the container with `root`.
 */
function exec(
  p: TestPlatform,
  id: string,
  command: readonly string[],
  root = false,
): Promise<Exec> {
  const layout = podmanLayout(join(p.home, "engine"), join(p.home, "run"));
  return new Promise((resolve) => {
    execFile(
      "podman",
      ["exec", ...(root ? ["--user", "0"] : []), id, ...command],
      { env: { ...process.env, ...podmanEnv(layout) }, timeout: 120_000, maxBuffer: 8 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function mustExec(p: TestPlatform, id: string, command: readonly string[]): Promise<string> {
  const r = await exec(p, id, command);
  assert.equal(r.code, 0, `${command.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function connect(p: TestPlatform, id: string, host: string, port: string): Promise<string> {
  return (await mustExec(p, id, [NODE, "-e", CONNECT, host, port])).trim();
}

function hostAddresses(family: "IPv4" | "IPv6"): string[] {
  return Object.entries(networkInterfaces())
    .filter(([name]) => name !== "lo" && !name.startsWith("sw"))
    .flatMap(([, list]) => list ?? [])
    .filter((i) => i.family === family && !i.internal)
    .map((i) => i.address);
}

/** The host bridge of the container's network (Podman's libpod inspect names it). */
async function bridgeOf(p: TestPlatform, id: string): Promise<string> {
  const container = (await engineGet(p, `/v1.41/containers/${id}/json`)) as {
    NetworkSettings: { Networks: Record<string, unknown> };
  };
  const [network = ""] = Object.keys(container.NetworkSettings.Networks);
  const info = (await engineGet(p, `/v4.3.0/libpod/networks/${network}/json`)) as {
    network_interface: string;
  };
  return info.network_interface;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(1_000);
  }
  throw new Error(`condition not met within ${String(timeoutMs)} ms`);
}

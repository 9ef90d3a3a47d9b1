/**
 * The walking skeleton, end to end on real Podman, HAProxy, debootstrap stacks and the
 * Node.js buildpack: create an app, deploy the example, serve it over HTTPS, roll out a
 * new version under load without a failed request, keep serving through a failed build,
 * survive a daemon restart, and destroy everything.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { must, startPlatform, type TestPlatform, engineGet } from "./harness.ts";
import { loadLoop, waitFor } from "./load.ts";

const example = join(import.meta.dirname, "..", "..", "examples", "hello-node");

interface PsEntry {
  readonly id: string;
  readonly type: string;
  readonly release: number;
  readonly state: string;
}

describe("first deploy, end to end", { timeout: 1_800_000 }, () => {
  let p: TestPlatform;
  const host = "hello.slipway.localhost";
  const work = mkdtempSync(join(tmpdir(), "sw-src-"));

  before(async () => {
    p = await startPlatform();
  });
  after(async () => {
    await p.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("creates the app and serves the example over HTTPS with the Slipway CA", async () => {
    const created = await must(p.cli(["apps:create", "hello", "--json"]), "apps:create");
    assert.equal((JSON.parse(created.stdout) as { name: string }).name, "hello");
    const deploy = await must(p.cli(["deploy", example, "--app", "hello"]), "deploy");
    assert.match(deploy.stdout, /Installing node/i, "the build log is printed as it runs");
    const res = await p.get(host);
    assert.equal(res.status, 200);
    assert.match(res.body, /Hello from Slipway/);
    const releases = JSON.parse(
      (await must(p.cli(["releases", "--app", "hello", "--json"]), "releases")).stdout,
    ) as {
      version: number;
      imageDigest: string;
    }[];
    assert.equal(releases.length, 1);
    assert.match(releases[0]?.imageDigest ?? "", /^sha256:[0-9a-f]{64}$/);
  });

  it("redirects plain HTTP to HTTPS with 308", async () => {
    const res = await new Promise<{ status: number; location: string | undefined }>(
      (resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port: p.httpPort, path: "/x?y=1", headers: { host } },
          (r) => {
            r.resume();
            resolve({ status: r.statusCode ?? 0, location: r.headers.location });
          },
        );
        req.on("error", reject);
        req.end();
      },
    );
    assert.equal(res.status, 308);
    assert.match(
      res.location ?? "",
      new RegExp(`^https://${host.replaceAll(".", "\\.")}(:\\d+)?/x\\?y=1$`),
    );
  });

  it("runs the web container with the security baseline", async () => {
    const [web] = await ps(p);
    assert.ok(web, "a web container runs");
    const inspect = (await engineGet(p, `/v1.41/containers/${web.id}/json`)) as {
      HostConfig: Record<string, unknown>;
      Config: { Env: string[] };
      NetworkSettings: { Networks: Record<string, unknown> };
    };
    const h = inspect.HostConfig;
    assert.equal(h.ReadonlyRootfs, true);
    assert.equal(h.Privileged, false);
    const securityOpt = h.SecurityOpt as string[];
    assert.equal(securityOpt[0], "no-new-privileges");
    assert.match(securityOpt[1] ?? "", /^seccomp=.*\/slipway\.json$/, "Slipway's seccomp profile");
    assert.ok(Number(h.Memory) > 0 && h.Memory === h.MemorySwap, "memory limited, no swap");
    assert.ok(Number(h.PidsLimit) > 0, "pids limited");
    assert.match(String((h.Tmpfs as Record<string, string>)["/tmp"]), /noexec/);
    assert.ok(inspect.Config.Env.includes("PORT=5000"));
    const capDrop = h.CapDrop as string[];
    for (const cap of [
      "CHOWN",
      "DAC_OVERRIDE",
      "FOWNER",
      "KILL",
      "NET_RAW",
      "SETUID",
      "SETGID",
      "SYS_CHROOT",
    ]) {
      assert.ok(capDrop.includes(cap), `${cap} dropped`);
    }
    assert.deepEqual(Object.keys(inspect.NetworkSettings.Networks), [`sw-${instanceOf(p)}-hello`]);
    const libpod = (await engineGet(p, `/v4.3.0/libpod/containers/${web.id}/json`)) as {
      HostConfig: { IDMappings?: { UidMap?: string[] } };
    };
    const uidMap = libpod.HostConfig.IDMappings?.UidMap ?? [];
    assert.ok(
      uidMap.length > 0 && !uidMap[0]?.startsWith("0:0:"),
      `user namespace: ${uidMap.join(",")}`,
    );
  });

  it("rolls out a new version under load with no failed request", async () => {
    const src = join(work, "v2");
    cpSync(example, src, { recursive: true });
    const server = join(src, "server.js");
    writeFileSync(
      server,
      readFileSync(server, "utf8").replace("Hello from Slipway", "Hello again from Slipway"),
    );
    const before = await ps(p);

    const load = loadLoop(p, host);
    let deploy;
    try {
      deploy = await must(p.cli(["deploy", src, "--app", "hello"]), "deploy v2");
      // Keep the load on until the old container is gone.
      await waitFor(
        async () => (await ps(p)).every((c) => !before.some((b) => b.id === c.id)),
        60_000,
      );
    } finally {
      await load.stop();
    }
    const { stats } = load;

    assert.match(deploy.stdout, /v2/);
    assert.equal(stats.failed, 0, `failed requests: ${stats.errors.slice(0, 5).join("; ")}`);
    assert.ok(stats.ok > 20, `requests made: ${stats.ok}`);
    assert.ok(
      stats.bodies.has("Hello again from Slipway"),
      "the new body was served during the rollout",
    );
    const res = await p.get(host);
    assert.match(res.body, /Hello again from Slipway/);
  });

  it("keeps the running release serving when a build fails, and says why", async () => {
    const broken = join(work, "broken");
    cpSync(example, broken, { recursive: true });
    const pkg = JSON.parse(readFileSync(join(broken, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    writeFileSync(
      join(broken, "package.json"),
      JSON.stringify({ ...pkg, dependencies: { "slipway-no-such-package-e2e": "1.0.0" } }, null, 2),
    );
    const releasesBefore = await releaseCount(p);
    const deploy = await p.cli(["deploy", broken, "--app", "hello"]);
    assert.notEqual(deploy.code, 0);
    assert.match(deploy.stdout + deploy.stderr, /npm (ci|install)|404|Not Found|lock/i);
    assert.equal(await releaseCount(p), releasesBefore, "a failed build creates no release");
    const res = await p.get(host);
    assert.equal(res.status, 200);
    assert.match(res.body, /Hello again from Slipway/);
  });

  it("adopts running containers after the daemon restarts, restoring their network's rules", async () => {
    const before = await ps(p);
    const networks = (await engineGet(p, `/v1.41/networks`)) as { Name: string }[];
    const network = networks.find((n) => n.Name.endsWith("-hello"))?.Name ?? "";
    const instance = network.slice("sw-".length, -"-hello".length);
    const comment = `"slipway:${instance}:${network}"`;
    const rules = (): string[] =>
      execFileSync("iptables", ["-S"], { encoding: "utf8" })
        .split("\n")
        .filter((rule) => rule.includes(comment));
    const guarded = rules();
    assert.ok(guarded.length >= 4, guarded.join("\n"));
    await must(p.cli(["down"]), "down");
    assert.equal(processesOf(p.home).length, 0, "no process of this installation is left behind");
    // The isolation rules of this installation's app network get lost while it is down
    // (an iptables flush, another tool): the daemon that starts puts them back.
    for (const rule of guarded) {
      execFileSync("sh", ["-c", `iptables ${rule.replace(/^-A /, "-D ")}`]);
    }
    assert.deepEqual(rules(), []);
    await must(p.cli(["up"]), "up again");
    const afterRestart = await ps(p);
    assert.deepEqual(
      afterRestart.map((c) => c.id),
      before.map((c) => c.id),
    );
    await waitFor(
      async () => (await p.get(host).catch(() => ({ status: 0 }))).status === 200,
      30_000,
    );
    await waitFor(() => Promise.resolve(rules().length === guarded.length), 30_000, "the rules");
    assert.deepEqual(rules().sort(), [...guarded].sort());
    assert.deepEqual(
      (await ps(p)).map((c) => c.id),
      before.map((c) => c.id),
      "the containers were kept",
    );
  });

  it("destroys the app and everything it owned", async () => {
    await must(p.cli(["apps:destroy", "hello", "--confirm", "hello"]), "apps:destroy");
    const containers = (await engineGet(p, `/v1.41/containers/json?all=true`)) as {
      Labels: Record<string, string>;
    }[];
    assert.equal(containers.filter((c) => c.Labels["io.slipway.app"] === "hello").length, 0);
    const networks = (await engineGet(p, `/v1.41/networks`)) as { Name: string }[];
    assert.equal(networks.filter((n) => n.Name.endsWith("-hello")).length, 0);
    const images = (await engineGet(p, `/v1.41/images/json`)) as {
      Labels: Record<string, string> | null;
    }[];
    assert.equal(
      images.filter((i) => i.Labels?.["io.slipway.app"] === "hello").length,
      0,
      "app images removed",
    );
    const volumes = (await engineGet(p, `/v1.41/volumes`)) as {
      Volumes: { Name: string }[] | null;
    };
    assert.equal(
      (volumes.Volumes ?? []).filter((v) => v.Name.includes("hello")).length,
      0,
      "build cache removed",
    );
    const apps = JSON.parse((await must(p.cli(["apps", "--json"]), "apps")).stdout) as unknown[];
    assert.equal(apps.length, 0);
    assert.deepEqual(readdirSync(join(p.home, "logs", "builds")), [], "build logs removed");
    const res = await p.get(host);
    assert.equal(res.status, 503);
  });
});

async function ps(p: TestPlatform): Promise<PsEntry[]> {
  const r = await must(p.cli(["ps", "--app", "hello", "--json"]), "ps");
  return (JSON.parse(r.stdout) as PsEntry[]).filter((c) => c.state === "running");
}

async function releaseCount(p: TestPlatform): Promise<number> {
  const r = await must(p.cli(["releases", "--app", "hello", "--json"]), "releases");
  return (JSON.parse(r.stdout) as unknown[]).length;
}

function instanceOf(p: TestPlatform): string {
  let h = 2166136261;
  for (const ch of p.home) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h.toString(36).padStart(7, "0");
}

/**
 * Pids of processes whose command line mentions this home (daemon, podman, haproxy).
 * conmon and aardvark-dns belong to the running containers (their monitor and their
 * network's DNS), which are meant to outlive the control plane.
 */
function processesOf(home: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (
        cmdline.includes(home) &&
        !/conmon|aardvark-dns/.test(cmdline) &&
        !/^\S*node\S* .*--test/.test(cmdline)
      ) {
        pids.push(Number(entry));
      }
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

import assert from "node:assert/strict";
import { arch, constants } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import type { Readable } from "node:stream";
import type { ContainerSpec } from "../engine.ts";
import { packTar, tarDirectory, tarFile } from "../tar-files.ts";
import { DockerApiClient } from "./api-client.ts";
import { DockerImages } from "./docker-images.ts";
import { inspectedRun, listedRun } from "./container-listing.ts";
import { asArray, asObject } from "./json-reader.ts";
import { runEngineContract } from "../engine.contract.ts";
import { SECCOMP_PROFILE_PATH } from "../seccomp/profile.ts";
import { auditContainer } from "../../security/audit/container-audit.ts";
import { BuildContainerLostError, runToCompletion } from "../../build/build-container.ts";
import { httpGet } from "../../testing/http-get.ts";
import { i386SyscallProbe } from "../testing/i386-syscall-probe.ts";
import {
  sandboxPerFile,
  sandboxUnavailable,
  type PodmanSandbox,
} from "../testing/podman-sandbox.ts";

/**
 * The real driver against Slipway's own Podman service, started in a fresh temporary
 * directory and destroyed at the end (even when tests fail). Needs root, podman and
 * busybox-static; skipped elsewhere.
 */
const unavailable = sandboxUnavailable();
const sandbox = sandboxPerFile();

if (unavailable === undefined) {
  runEngineContract("DockerEngine on Podman", async () => {
    const box = await sandbox();
    return {
      engine: box.engine,
      instance: box.instance,
      networkPool: box.networkPool,
      image: box.image,
      createForeign: () => box.createForeign(),
      foreignIntact: (objects) => box.foreignIntact(objects),
    };
  });
}

const MiB = 1024 * 1024;
const probeSpec = (
  box: PodmanSandbox,
  name: string,
  network: string,
  script: string,
  image = box.image,
): ContainerSpec => ({
  name: `sec-${box.instance}-${name}`,
  image,
  cmd: ["sh", "-c", script],
  env: {},
  labels: { "io.slipway.test": "security" },
  network,
  limits: { memoryBytes: 64 * MiB, cpus: 0.5, pids: 64, tmpBytes: 8 * MiB },
});

/** Runs a script in a fresh container and returns its stdout lines. */
async function runScript(
  box: PodmanSandbox,
  name: string,
  network: string,
  script: string,
  image = box.image,
): Promise<string[]> {
  const id = await box.engine.createContainer(probeSpec(box, name, network, script, image));
  await box.engine.startContainer(id);
  await box.engine.waitContainer(id, AbortSignal.timeout(30_000));
  const lines: string[] = [];
  for await (const line of box.engine.logs(id, { follow: false })) {
    if (line.stream === "stdout") lines.push(line.line);
  }
  await box.engine.removeContainer(id);
  return lines;
}

describe("containers from the real driver", { skip: unavailable ?? false }, () => {
  it("run with no capabilities, no new privileges, a read-only root and a user namespace", async () => {
    const box = await sandbox();
    const network = `sec-${box.instance}-probe`;
    await box.engine.ensureNetwork(network, { "io.slipway.test": "security" });
    const lines = await runScript(
      box,
      "probe",
      network,
      [
        "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status",
        'echo "uid_map $(cat /proc/self/uid_map)"',
        "touch /probe 2>/dev/null && echo root-writable || echo root-read-only",
        "touch /tmp/probe && echo tmp-writable",
        "cp /bin/busybox /tmp/bb && /tmp/bb true 2>/dev/null && echo tmp-exec || echo tmp-noexec",
      ].join("; "),
    );
    assert.ok(lines.includes("CapEff:\t0000000000000000"), lines.join("\n"));
    assert.ok(lines.includes("NoNewPrivs:\t1"), lines.join("\n"));
    const uidMap = lines.find((line) => line.startsWith("uid_map"));
    assert.match(uidMap ?? "", /^uid_map\s+0\s+\d+\s+\d+$/);
    assert.doesNotMatch(uidMap ?? "", /^uid_map\s+0\s+0\s/);
    assert.ok(lines.includes("root-read-only"));
    assert.ok(lines.includes("tmp-writable"));
    assert.ok(lines.includes("tmp-noexec"));
  });

  it(
    "kill a process that makes a 32-bit system call (the filter names the native ABI alone)",
    { skip: arch() === "x64" ? false : "the probe is an x86-64 program" },
    async () => {
      const box = await sandbox();
      const network = `sec-${box.instance}-probe`;
      await box.engine.ensureNetwork(network, { "io.slipway.test": "security" });
      const image = `slipway-test/i386-probe:${box.instance}`;
      const probe = await box.engine.importImage(
        packTar([tarFile("probe", i386SyscallProbe(), 0o755)]),
        { reference: image, labels: {} },
      );
      const spec = probeSpec(box, "i386", network, "", image);
      const id = await box.engine.createContainer({ ...spec, cmd: ["/probe"] });
      await box.engine.startContainer(id);
      const status = await box.engine.waitContainer(id, AbortSignal.timeout(30_000));
      await box.engine.removeContainer(id);
      await box.engine.removeImage(probe.id);
      // Without the filter (or with i386 let in) the probe exits 0 after its int 0x80.
      assert.equal(status, 128 + constants.signals.SIGSYS);
    },
  );

  it("report the baseline in the inspect document, user-namespace mappings included", async () => {
    const box = await sandbox();
    const network = `sec-${box.instance}-probe`;
    await box.engine.ensureNetwork(network, { "io.slipway.test": "security" });
    const id = await box.engine.createContainer(probeSpec(box, "inspect", network, "true"));
    const doc = (await box.engine.rawInspect(id)) as {
      HostConfig: Record<string, unknown> & { IDMappings?: { UidMap?: string[] } };
    };
    const host = doc.HostConfig;
    assert.equal(host.ReadonlyRootfs, true);
    assert.equal(host.Privileged, false);
    assert.deepEqual(host.SecurityOpt, ["no-new-privileges", `seccomp=${SECCOMP_PROFILE_PATH}`]);
    assert.equal(host.Memory, 64 * MiB);
    assert.equal(host.MemorySwap, 64 * MiB);
    assert.equal(host.PidsLimit, 64);
    const uidMap = host.IDMappings?.UidMap?.[0] ?? "";
    assert.match(uidMap, /^0:\d+:\d+$/);
    assert.ok(!uidMap.startsWith("0:0:"), uidMap);
    // The audit of `slipway doctor` finds nothing wrong with what the driver made.
    const failed = auditContainer(doc).items.filter((i) => i.status === "fail");
    assert.deepEqual(failed, []);
    await box.engine.removeContainer(id);
  });

  it("are listed as stopped the moment they are killed, though unchanged ones are not inspected again", async () => {
    const box = await sandbox();
    const network = `sec-${box.instance}-probe`;
    await box.engine.ensureNetwork(network, { "io.slipway.test": "security" });
    const labels = { "io.slipway.test": "listing" };
    const id = await box.engine.createContainer({
      ...probeSpec(box, "listing", network, "sleep 60"),
      labels,
    });
    await box.engine.startContainer(id);
    const states = async (): Promise<string[]> =>
      (await box.engine.listContainers(labels)).map((c) => `${c.id} ${c.state}`);
    // Podman's list and its compat inspect tell the same run (container-listing.ts).
    const api = new DockerApiClient({ socketPath: box.layout.socketPath });
    // A killed container is "stopped" until conmon's cleanup makes it "exited" (its last
    // state), which can happen between the list and the inspect: that pair is asked again.
    const sameRun = async (): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const listed = asArray(
          await api.json("GET", "/containers/json", {
            api: "libpod",
            query: { all: true, sync: true, filters: JSON.stringify({ id: [id] }) },
          }),
          "list",
        );
        assert.equal(listed.length, 1);
        const entry = asObject(listed[0], "entry");
        const inspected = await api.json("GET", `/containers/${id}/json`);
        if (entry.State === "stopped" && attempt < 100) {
          await sleep(100);
          continue;
        }
        assert.equal(listedRun(entry), inspectedRun(inspected));
        return;
      }
    };
    assert.deepEqual(await states(), [`${id} running`]);
    assert.deepEqual(await states(), [`${id} running`]);
    await sameRun();
    // Behind the driver's back, as a crash or the kernel's OOM killer would.
    await box.podman(["kill", "--signal", "KILL", id]);
    assert.deepEqual(await states(), [`${id} exited`]);
    await sameRun();
    const [killed] = await box.engine.listContainers(labels);
    assert.equal(killed?.exitCode, 137);
    await box.engine.removeContainer(id);
    assert.deepEqual(await states(), []);
  });

  it("leave no name on their network once they exited by themselves and were removed", async () => {
    const box = await sandbox();
    const network = `sec-${box.instance}-names`;
    await box.engine.ensureNetwork(network, { "io.slipway.test": "security" });
    // Another container stays on the network, as an app's web containers do while a
    // one-off or a release phase comes and goes.
    const keeper = await box.engine.createContainer(probeSpec(box, "keeper", network, "sleep 300"));
    await box.engine.startContainer(keeper);
    const resolves = async (name: string): Promise<boolean> => {
      const answer = await box.podman(["exec", keeper, "nslookup", name]).then(
        (out) => out,
        (error: unknown) => String(error),
      );
      return /Address:? *\d+\.\d+\.\d+\.\d+/.test(answer.split(/Name:/)[1] ?? "");
    };
    const name = `sec-${box.instance}-exits`;
    const exits = await box.engine.createContainer(probeSpec(box, "exits", network, "exit 3"));
    await box.engine.startContainer(exits);
    assert.equal(await box.engine.waitContainer(exits, AbortSignal.timeout(30_000)), 3);
    // conmon tears its network down; on a host whose mounts do not propagate, it could
    // not see the network namespace and left the name behind (netns-propagation.ts).
    await box.engine.removeContainer(exits);
    assert.equal(await resolves(name), false, `${name} no longer resolves`);
    assert.equal(await resolves(`sec-${box.instance}-keeper`), true, "the keeper still does");
    await box.engine.removeContainer(keeper);
  });

  it("that exited before a build attached are reported as stopped before the build, with their output", async () => {
    // Podman's attach initializes an exited container again (as Docker does): the attach
    // gets nothing and the container says it never started (build-container.ts).
    const box = await sandbox();
    const network = `sec-${box.instance}-lost`;
    await box.engine.ensureNetwork(network, { "io.slipway.test": "security" });
    const spec = probeSpec(box, "lost", network, "echo 'runner: no go line' >&2; exit 70");
    const id = await box.engine.createContainer({ ...spec, stdin: true });
    await box.engine.startContainer(id);
    assert.equal(await box.engine.waitContainer(id, AbortSignal.timeout(30_000)), 70);
    const seen: string[] = [];
    await assert.rejects(
      runToCompletion({
        engine: box.engine,
        containerId: id,
        timeoutSeconds: 30,
        log: (line) => seen.push(line),
        goLine: "end-marker\n",
        endMarker: "end-marker",
      }),
      (error: unknown) =>
        error instanceof BuildContainerLostError &&
        error.message === "the build container stopped before the build began: runner: no go line",
    );
    assert.deepEqual(seen, ["runner: no go line"]);
    await box.engine.removeContainer(id);
  });

  it("take a raised CPU cap between their init and their start, and their own back later", async () => {
    const box = await sandbox();
    const network = `sec-${box.instance}-boost`;
    await box.engine.ensureNetwork(network, { "io.slipway.test": "security" });
    // The container's own cgroup (cgroup v2, else v1's cpu and memory controllers).
    const read = [
      "c=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)",
      "m=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)",
      'echo "cpu ${c%% *} memory $m pids $(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)"',
    ].join("; ");
    const script = `${read}; while [ ! -e /tmp/go ]; do sleep 0.1; done; ${read}`;
    const id = await box.engine.createContainer(probeSpec(box, "boost", network, script));
    await box.engine.initContainer(id);
    await box.engine.setCpuLimit(id, 2);
    await box.engine.startContainer(id);
    const output = async (): Promise<string[]> => {
      const lines: string[] = [];
      for await (const line of box.engine.logs(id, { follow: false })) lines.push(line.line);
      return lines;
    };
    // Lowered only once the first reading is written (the shell may start after the call).
    for (let tries = 0; (await output()).length === 0 && tries < 300; tries++) await sleep(100);
    await box.engine.setCpuLimit(id, 0.5);
    await box.podman(["exec", id, "touch", "/tmp/go"]);
    assert.equal(await box.engine.waitContainer(id, AbortSignal.timeout(30_000)), 0);
    const lines = await output();
    const limits = `memory ${String(64 * MiB)} pids 64`;
    assert.deepEqual(lines, [`cpu 200000 ${limits}`, `cpu 50000 ${limits}`]);
    // What the spec asked for is what the inspect document keeps saying.
    const doc = (await box.engine.rawInspect(id)) as { HostConfig: { NanoCpus?: number } };
    assert.equal(doc.HostConfig.NanoCpus, 0.5e9);
    await box.engine.removeContainer(id);
  });

  it("reach their own network, not another app's, and the host reaches them", async () => {
    const box = await sandbox();
    const labels = { "io.slipway.test": "isolation" };
    const [a, b] = [`sec-${box.instance}-app-a`, `sec-${box.instance}-app-b`];
    await box.engine.ensureNetwork(a, labels);
    await box.engine.ensureNetwork(b, labels);
    const server = await box.engine.createContainer(
      probeSpec(
        box,
        "server",
        a,
        "mkdir -p /tmp/www && echo hello-from-a > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
      ),
    );
    await box.engine.startContainer(server);
    const address = (await box.engine.inspectContainer(server))?.addresses[a];
    assert.ok(address !== undefined, "the server has an address on its network");

    let fromHost: string | undefined;
    for (let i = 0; i < 50 && fromHost === undefined; i++) {
      fromHost = await httpGet(address, 8080, 1_000);
      if (fromHost === undefined) await sleep(100);
    }
    assert.equal(fromHost?.trim(), "hello-from-a", "the host reaches the container");

    const fetch = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${address} 8080; echo "rc=$?"`;
    const sameNetwork = await runScript(box, "client-a", a, fetch);
    assert.ok(sameNetwork.includes("hello-from-a"), `same network: ${sameNetwork.join("|")}`);
    const otherNetwork = await runScript(box, "client-b", b, fetch);
    assert.ok(!otherNetwork.includes("hello-from-a"), `other network: ${otherNetwork.join("|")}`);
    assert.ok(
      otherNetwork.some((line) => /^rc=[1-9]/.test(line)),
      otherNetwork.join("|"),
    );
    await box.engine.removeContainer(server);
  });
});

describe("images from the real driver", { skip: unavailable ?? false }, () => {
  it("appends a layer through the image loader as a commit would, onto loaded and committed images", async () => {
    const box = await sandbox();
    const api = new DockerApiClient({ socketPath: box.layout.socketPath });
    // The same driver without the loader: every layer takes the container and commit way.
    const committing = new DockerImages(api, box.instance, { loadLimitBytes: 0 });
    const network = `img-${box.instance}`;
    await box.engine.ensureNetwork(network, { "io.slipway.test": "images" });
    const files = (): Readable =>
      packTar([
        tarDirectory("srv"),
        tarFile("srv/hello.txt", "first layer\n", 0o604),
        tarFile("srv/run.sh", "#!/bin/sh\necho ran\n", 0o755),
      ]);
    const options = {
      labels: { "io.slipway.test": "images", "io.slipway.kind": "first" },
      env: ["PATH=/srv:/bin", "FROM_LAYER=yes"],
      cmd: ["/srv/run.sh"],
      workingDir: "/srv",
      user: "1000:1000",
    };
    const before = (await box.engine.listContainers()).length;
    const loaded = await box.engine.appendLayer(box.image, files(), {
      ...options,
      reference: `slipway-test/loaded:${box.instance}`,
    });
    const committed = await committing.appendLayer(box.image, files(), {
      ...options,
      reference: `slipway-test/committed:${box.instance}`,
    });
    assert.equal((await box.engine.listContainers()).length, before, "no container left");
    assert.ok(loaded.tags.includes(`slipway-test/loaded:${box.instance}`), loaded.tags.join());
    // What appendLayer said of the loaded image without inspecting it is what Podman says.
    const inspected = await box.engine.inspectImage(loaded.id);
    assert.ok(inspected !== undefined);
    const { sizeBytes, createdAt, ...rest } = loaded;
    const { sizeBytes: size, createdAt: created, ...inspectedRest } = inspected;
    assert.deepEqual(rest, inspectedRest);
    assert.equal(Date.parse(createdAt), Date.parse(created));
    assert.ok(Math.abs(size - sizeBytes) < 2048, `${String(size)} against ${String(sizeBytes)}`);
    assert.equal(loaded.user, "1000:1000");

    const config = async (id: string): Promise<Record<string, unknown>> =>
      (asObject(await api.json("GET", `/images/${id}/json`), "image").Config ?? {}) as Record<
        string,
        unknown
      >;
    const [a, b] = await Promise.all([config(loaded.id), config(committed.id)]);
    for (const key of ["Cmd", "WorkingDir", "User", "Labels"])
      assert.deepEqual(a[key], b[key], key);
    // A commit also keeps what Podman put into the container's environment (its containers
    // get those two anyway); the loaded image has the base's and the options' alone.
    const podmans = new Set(["TERM=xterm", "container=podman"]);
    assert.deepEqual(
      a.Env,
      (b.Env as string[]).filter((entry) => !podmans.has(entry)),
    );

    const look =
      "cat /srv/hello.txt; ls -ln /srv | sed 1d | awk '{print $1, $3, $4, $NF}'; echo FROM_LAYER=$FROM_LAYER";
    const fromLoaded = await runScript(box, "loaded", network, look, loaded.id);
    assert.deepEqual(fromLoaded, await runScript(box, "committed", network, look, committed.id));
    assert.deepEqual(fromLoaded, [
      "first layer",
      "-rw----r-- 0 0 hello.txt",
      "-rwxr-xr-x 0 0 run.sh",
      "FROM_LAYER=yes",
    ]);

    // A second layer on each: the loader reuses the layers it stores, whoever made them.
    for (const base of [loaded, committed]) {
      const second = await box.engine.appendLayer(
        base.id,
        packTar([tarDirectory("srv"), tarFile("srv/hello.txt", "second layer\n")]),
        {
          labels: { "io.slipway.kind": "second" },
          reference: `slipway-test/second:${box.instance}`,
        },
      );
      assert.equal(second.labels["io.slipway.kind"], "second");
      assert.equal(second.labels["io.slipway.test"], "images", "the base's labels are inherited");
      const lines = await runScript(
        box,
        "second",
        network,
        "cat /srv/hello.txt; /srv/run.sh",
        second.id,
      );
      assert.deepEqual(lines, ["second layer", "ran"]);
    }
  });
});

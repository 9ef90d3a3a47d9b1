import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { auditContainer } from "../../security/audit/container-audit.ts";
import type { ContainerSpec } from "../engine.ts";
import { purgeInstance } from "../purge.ts";
import { httpGet } from "../../testing/http-get.ts";
import {
  sandboxPerFile,
  sandboxUnavailable,
  type PodmanSandbox,
} from "../testing/podman-sandbox.ts";
import { DockerEngine } from "./docker-engine.ts";
import { SANDBOX_ALIASES_LABEL, SANDBOX_IMAGE, SANDBOX_LABEL } from "./network-sandboxes.ts";

/**
 * Network sandboxes on the real Podman service: a container created after
 * prepareNetwork joins the waiting sandbox and keeps the whole baseline; removing it
 * removes the sandbox; free sandboxes of an earlier driver go, joined ones stay; a purge
 * removes them all. Needs root, podman and busybox-static; skipped elsewhere.
 */
const unavailable = sandboxUnavailable();
const podmanBox = sandboxPerFile();

const MiB = 1024 * 1024;

function spec(box: PodmanSandbox, name: string, network: string, script: string): ContainerSpec {
  return {
    name: `ns-${box.instance}-${name}`,
    image: box.image,
    cmd: ["sh", "-c", script],
    env: {},
    labels: { "io.slipway.test": "sandboxes" },
    network,
    networkAliases: ["web"],
    limits: { memoryBytes: 64 * MiB, cpus: 0.5, pids: 64, tmpBytes: 8 * MiB },
  };
}

/** Sandbox containers of the network: id and state. */
async function sandboxesOf(box: PodmanSandbox, network: string): Promise<string[]> {
  const listed = await box.engine.listContainers({ [SANDBOX_LABEL]: network });
  return listed.map((c) => `${c.id} ${c.state}`);
}

async function output(box: PodmanSandbox, id: string): Promise<string[]> {
  await box.engine.waitContainer(id, AbortSignal.timeout(30_000));
  const lines: string[] = [];
  for await (const line of box.engine.logs(id, { follow: false })) lines.push(line.line);
  return lines;
}

describe("network sandboxes on Podman", { skip: unavailable ?? false }, () => {
  it("a container made after prepareNetwork joins the sandbox and keeps the baseline; removing it removes the sandbox", async () => {
    const box = await podmanBox();
    const network = `ns-${box.instance}-a`;
    await box.engine.ensureNetwork(network, {});
    await box.engine.prepareNetwork(network, ["web"]);
    await box.engine.prepareNetwork(network, ["web"]); // one waits already: nothing more
    const waiting = await sandboxesOf(box, network);
    assert.equal(waiting.length, 1, waiting.join("\n"));
    assert.match(waiting[0] ?? "", / running$/);
    const sandboxId = (waiting[0] ?? "").split(" ")[0] ?? "";
    const labels = (await box.engine.inspectContainer(sandboxId))?.labels ?? {};
    assert.equal(labels[SANDBOX_ALIASES_LABEL], "web");
    const sandboxDoc = (await box.engine.rawInspect(sandboxId)) as {
      HostConfig: Record<string, unknown>;
    };
    assert.ok(
      !readFileSync("/proc/self/mountinfo", "utf8").includes(`${sandboxId}/userdata/shm`),
      "a sandbox mounts no /dev/shm",
    );
    assert.equal(sandboxDoc.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(
      auditContainer(sandboxDoc).items.filter((i) => i.status === "fail"),
      [],
      "the sandbox passes the audit too",
    );
    assert.ok((await box.engine.inspectImage(SANDBOX_IMAGE)) !== undefined);

    const server = await box.engine.createContainer(
      spec(
        box,
        "server",
        network,
        "mkdir -p /tmp/www && echo joined > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
      ),
    );
    await box.engine.startContainer(server);
    const doc = (await box.engine.rawInspect(server)) as { HostConfig: Record<string, unknown> };
    assert.equal(doc.HostConfig.NetworkMode, `container:${sandboxId}`);
    assert.equal(doc.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(
      auditContainer(doc).items.filter((i) => i.status === "fail"),
      [],
      "the audit of `slipway doctor` finds nothing wrong",
    );
    // The sandbox's address and aliases are the container's.
    const address = (await box.engine.inspectContainer(server))?.addresses[network];
    const sandboxAddress = (await box.engine.inspectContainer(sandboxId))?.addresses[network];
    assert.ok(address !== undefined);
    assert.equal(address, sandboxAddress);
    let body: string | undefined;
    for (let i = 0; i < 50 && body === undefined; i++) {
      body = await httpGet(address, 8080);
      if (body === undefined) await sleep(100);
    }
    assert.equal(body?.trim(), "joined");
    const client = await box.engine.createContainer({
      ...spec(
        box,
        "client",
        network,
        [
          // The DNS server (aardvark-dns) may take a moment to answer for a new container.
          "i=0; while ! out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 8080 2>&1) && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done",
          'echo "$out"',
          "grep -E '^CapEff:' /proc/self/status",
          'echo "uid_map $(cat /proc/self/uid_map)"',
          "touch /probe 2>/dev/null && echo root-writable || echo root-read-only",
        ].join("; "),
      ),
      networkAliases: [],
    });
    await box.engine.startContainer(client);
    const lines = await output(box, client);
    assert.ok(lines.includes("joined"), `the alias answers: ${lines.join("|")}`);
    assert.ok(lines.includes("CapEff:\t0000000000000000"), lines.join("\n"));
    assert.ok(lines.includes("root-read-only"), lines.join("\n"));
    assert.doesNotMatch(lines.find((l) => l.startsWith("uid_map")) ?? "", /^uid_map\s+0\s+0\s/);
    await box.engine.removeContainer(client);

    await box.engine.removeContainer(server);
    assert.deepEqual(await sandboxesOf(box, network), []);
    assert.equal(await box.engine.inspectContainer(sandboxId), undefined);
  });

  it("without a waiting sandbox a container sets up its own network", async () => {
    const box = await podmanBox();
    const network = `ns-${box.instance}-b`;
    await box.engine.ensureNetwork(network, {});
    const id = await box.engine.createContainer(spec(box, "own", network, "true"));
    const doc = (await box.engine.rawInspect(id)) as { HostConfig: Record<string, unknown> };
    assert.doesNotMatch(String(doc.HostConfig.NetworkMode), /^container:/);
    await box.engine.removeContainer(id);
  });

  it("a new driver removes the free sandboxes an earlier one left, keeps joined ones, and a purge removes all", async () => {
    const box = await podmanBox();
    const network = `ns-${box.instance}-c`;
    await box.engine.ensureNetwork(network, {});
    await box.engine.prepareNetwork(network, ["web"]);
    const joinedId = (await sandboxesOf(box, network))[0]?.split(" ")[0] ?? "";
    const member = await box.engine.createContainer(spec(box, "member", network, "sleep 60"));
    await box.engine.startContainer(member);
    await box.engine.prepareNetwork(network, ["web"]);
    const before = (await sandboxesOf(box, network)).map((s) => s.split(" ")[0]);
    assert.equal(before.length, 2);
    const free = before.find((id) => id !== joinedId) ?? "";

    // A daemon restart: a driver that knows nothing of them.
    const later = new DockerEngine({
      socketPath: box.layout.socketPath,
      instance: box.instance,
      networkPool: box.networkPool,
      firewall: null,
    });
    await later.prepareNetwork(network, ["web"]);
    const after = (await sandboxesOf(box, network)).map((s) => s.split(" ")[0]);
    assert.equal(after.length, 2, after.join("\n"));
    assert.ok(after.includes(joinedId), "the joined sandbox stays");
    assert.ok(!after.includes(free), "the free one is gone");

    await purgeInstance(box.engine);
    assert.deepEqual(await box.engine.listContainers(), []);
    assert.deepEqual(await box.engine.listNetworks(), []);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError } from "../domain/errors.ts";
import type { ContainerSpec } from "./engine.ts";
import { CONTRACT_COMMANDS, runEngineContract } from "./engine.contract.ts";
import { FakeEngine, type FakeProgram, type FakeRun } from "./fake-engine.ts";
import { purgeInstance } from "./purge.ts";
import { packTar, tarDirectory } from "./tar-files.ts";

/** The fake's stand-in for busybox: the contract's commands, nothing else. */
const contractProgram: FakeProgram = (spec, read, input) => {
  const is = (cmd: readonly string[]): boolean => JSON.stringify(spec.cmd) === JSON.stringify(cmd);
  const cat = (path: string): FakeRun => {
    const text = read(path);
    return text === undefined
      ? { exitCode: 1, stderr: [`cat: can't open '${path}'`] }
      : { stdout: text.replace(/\n$/, "").split("\n") };
  };
  if (is(CONTRACT_COMMANDS.exitThree))
    return { exitCode: 3, stdout: ["out-1", "out-2"], stderr: ["err-1"] };
  if (is(CONTRACT_COMMANDS.sleep)) return { untilStopped: true };
  if (is(CONTRACT_COMMANDS.readyThenSleep)) return { untilStopped: true, stdout: ["ready"] };
  if (is(CONTRACT_COMMANDS.twoLines)) return { stdout: ["first", "second"] };
  if (is(CONTRACT_COMMANDS.catHello)) return cat("/srv/hello.txt");
  if (is(CONTRACT_COMMANDS.catInput)) return cat("/data/input.txt");
  if (is(CONTRACT_COMMANDS.readInput)) {
    const [a = "", b = ""] = input.split("\n")[0]?.split(" ") ?? [];
    return { stdout: [`got ${a} and ${b}`] };
  }
  if (is(CONTRACT_COMMANDS.writeOutput)) {
    return { stdout: ["second-run"], writes: { "/data/output.txt": "second-run\n" } };
  }
  return { exitCode: 127, stderr: [`unknown command ${JSON.stringify(spec.cmd)}`] };
};

async function fakeWithBase(
  instance = "fake-contract",
): Promise<{ engine: FakeEngine; image: string }> {
  const engine = new FakeEngine({ instance, program: contractProgram });
  const image = "contract/busybox:1";
  await engine.importImage(packTar([tarDirectory("srv"), tarDirectory("data")]), {
    reference: image,
    labels: {},
  });
  return { engine, image };
}

runEngineContract("FakeEngine", async () => {
  const { engine, image } = await fakeWithBase();
  return {
    engine,
    instance: engine.instance,
    networkPool: "10.213.0.0/16",
    image,
    createForeign: () => Promise.resolve(engine.seedForeign()),
    foreignIntact: (objects) => Promise.resolve(engine.holds(objects)),
  };
});

const spec = (name: string, network: string): ContainerSpec => ({
  name,
  image: "contract/busybox:1",
  cmd: [...CONTRACT_COMMANDS.sleep],
  env: {},
  labels: { "io.slipway.app": "shop" },
  network,
  limits: { memoryBytes: 64 << 20, cpus: 1, pids: 64, tmpBytes: 1 << 20 },
});

describe("FakeEngine", () => {
  it("records the mutations it performed, in order", async () => {
    const { engine } = await fakeWithBase();
    engine.clearActions();
    await engine.ensureNetwork("net", {});
    await engine.ensureNetwork("net", {});
    const id = await engine.createContainer(spec("web-1", "net"));
    await engine.startContainer(id);
    await engine.stopContainer(id, 5);
    await engine.removeContainer(id);
    await engine.removeContainer(id);
    assert.deepEqual(engine.actions, [
      { verb: "create", kind: "network", name: "net" },
      { verb: "create", kind: "container", name: "web-1" },
      { verb: "start", kind: "container", name: "web-1" },
      { verb: "stop", kind: "container", name: "web-1" },
      { verb: "remove", kind: "container", name: "web-1" },
    ]);
  });

  it("fails on demand, then recovers", async () => {
    const { engine } = await fakeWithBase();
    await engine.ensureNetwork("net", {});
    const id = await engine.createContainer(spec("web-1", "net"));
    engine.failNext("startContainer", new DriverError("engine", "boom"), 2);
    await assert.rejects(engine.startContainer(id), DriverError);
    await assert.rejects(engine.startContainer(id), DriverError);
    await engine.startContainer(id);
    assert.equal((await engine.inspectContainer(id))?.state, "running");
  });

  it("lets a test crash a running container, and waiters see the exit", async () => {
    const { engine } = await fakeWithBase();
    await engine.ensureNetwork("net", {});
    const id = await engine.createContainer(spec("web-1", "net"));
    await engine.startContainer(id);
    const waiting = engine.waitContainer(id);
    engine.exitContainer(id, 137, true);
    assert.equal(await waiting, 137);
    const info = await engine.inspectContainer(id);
    assert.equal(info?.oomKilled, true);
  });

  it("purges everything of its instance", async () => {
    const { engine } = await fakeWithBase();
    await engine.ensureNetwork("net", {});
    await engine.ensureVolume("vol", {});
    await engine.startContainer(await engine.createContainer(spec("web-1", "net")));
    const report = await purgeInstance(engine);
    assert.deepEqual(report, { containers: 1, networks: 1, volumes: 1, images: 1 });
    assert.deepEqual(await engine.listImages(), []);
    assert.deepEqual(await engine.listContainers(), []);
  });
});

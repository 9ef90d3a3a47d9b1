import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../domain/errors.ts";
import { LABEL } from "../domain/labels.ts";
import { overlaps, parseCidr } from "./docker/subnets.ts";
import type { ContainerSpec, Engine, LogLine, LogOptions } from "./engine.ts";
import { packTar, tarFile, unpackTar } from "./tar-files.ts";

/**
 * The Engine port's contract, one suite run against every driver and the fake (after
 * Hono's router contract: src/router/common.case.test.ts). What is not asserted here is
 * not promised by the port.
 */
export interface EngineFixture {
  readonly engine: Engine;
  /** The engine's io.slipway.instance value. */
  readonly instance: string;
  /** The pool the engine carves networks from. */
  readonly networkPool: string;
  /** An image of this instance with busybox: sh, echo, cat, sleep; /srv exists. */
  readonly image: string;
  /** Makes a container, network, volume and image without the instance label. */
  createForeign(): Promise<ForeignObjects>;
  /** True while all of them still exist (the engine must not have touched them). */
  foreignIntact(objects: ForeignObjects): Promise<boolean>;
}

export interface ForeignObjects {
  readonly container: string;
  readonly network: string;
  readonly volume: string;
  readonly image: string;
}

/** The commands the suite runs; a fake engine emulates exactly these. */
export const CONTRACT_COMMANDS = {
  exitThree: ["sh", "-c", "echo out-1; echo err-1 >&2; echo out-2; exit 3"],
  sleep: ["sleep", "300"],
  readyThenSleep: ["sh", "-c", "echo ready; exec sleep 300"],
  twoLines: ["sh", "-c", "echo first; sleep 1; echo second"],
  catHello: ["cat", "/srv/hello.txt"],
  catInput: ["cat", "/data/input.txt"],
  writeOutput: ["sh", "-c", "echo second-run > /data/output.txt && cat /data/output.txt"],
  readInput: ["sh", "-c", "read -r a b && echo got $a and $b"],
} as const satisfies Record<string, readonly string[]>;

const MiB = 1024 * 1024;

/** Registers the suite: `name` titles it, `setup` runs once before its tests. */
export function runEngineContract(name: string, setup: () => Promise<EngineFixture>): void {
  // node:test's describe/it return promises the runner itself awaits.
  void describe(`Engine contract: ${name}`, () => {
    const run = randomBytes(3).toString("hex");
    const tag = { "io.slipway.contract": run };
    const network = `ct-${run}-net`;
    let fx: EngineFixture | undefined;
    const fixture = (): EngineFixture => {
      assert.ok(fx, "the fixture is set up");
      return fx;
    };
    const created = { containers: [] as string[], images: [] as string[], volumes: [] as string[] };
    const networks = [network];

    const spec = (
      suffix: string,
      cmd: readonly string[],
      extra: Partial<ContainerSpec> = {},
    ): ContainerSpec => ({
      name: `ct-${run}-${suffix}`,
      image: fixture().image,
      cmd,
      env: { CONTRACT: run },
      labels: { ...tag, "io.slipway.case": suffix },
      network,
      limits: { memoryBytes: 64 * MiB, cpus: 0.5, pids: 64, tmpBytes: 8 * MiB },
      ...extra,
    });
    const create = async (s: ContainerSpec): Promise<string> => {
      const id = await fixture().engine.createContainer(s);
      created.containers.push(id);
      return id;
    };
    const runToExit = async (s: ContainerSpec): Promise<{ id: string; code: number }> => {
      const id = await create(s);
      await fixture().engine.startContainer(id);
      return { id, code: await fixture().engine.waitContainer(id, AbortSignal.timeout(30_000)) };
    };
    const logs = async (
      id: string,
      options: LogOptions = { follow: false },
    ): Promise<LogLine[]> => {
      const lines: LogLine[] = [];
      for await (const line of fixture().engine.logs(id, options)) lines.push(line);
      return lines;
    };
    const stdout = (lines: readonly LogLine[]): string[] =>
      lines.filter((l) => l.stream === "stdout").map((l) => l.line);

    before(async () => {
      fx = await setup();
      await fx.engine.ensureNetwork(network, tag);
    });

    after(async () => {
      if (fx === undefined) return;
      const { engine } = fx;
      for (const id of created.containers) await engine.removeContainer(id);
      for (const n of networks) await engine.removeNetwork(n);
      for (const v of created.volumes) await engine.removeVolume(v);
      for (const ref of created.images) await engine.removeImage(ref);
    });

    const cases: Record<string, () => Promise<void>> = {
      "answers ping": async () => {
        await fixture().engine.ping(AbortSignal.timeout(10_000));
      },

      "imports a root filesystem as a labelled, tagged image and removes it": async () => {
        const { engine, instance } = fixture();
        const reference = `contract/imported-${run}:1`;
        created.images.push(reference);
        const info = await engine.importImage(packTar([tarFile("etc/imported", "yes\n")]), {
          reference,
          labels: { ...tag, "io.slipway.kind": "imported" },
          env: ["GREETING=hello there"],
          cmd: ["cat", "/etc/imported"],
          workingDir: "/",
        });
        assert.match(info.id, /^sha256:[0-9a-f]{64}$/);
        assert.match(info.digest, /^sha256:[0-9a-f]{64}$/);
        assert.ok(info.tags.includes(reference), `${info.tags.join(",")} has ${reference}`);
        assert.equal(info.labels[LABEL.instance], instance);
        assert.equal(info.labels["io.slipway.kind"], "imported");
        assert.deepEqual(await engine.inspectImage(reference), info);
        assert.deepEqual(await engine.inspectImage(info.id), info);
        const listed = await engine.listImages({ ...tag, "io.slipway.kind": "imported" });
        assert.deepEqual(
          listed.map((i) => [i.id, i.tags, i.labels, i.sizeBytes > 0, i.createdAt !== ""]),
          [[info.id, info.tags, info.labels, true, true]],
        );
        await engine.removeImage(reference);
        assert.equal(await engine.inspectImage(reference), undefined);
        await engine.removeImage(reference);
      },

      "runs a container to its exit code and keeps its output per stream": async () => {
        const { engine, instance } = fixture();
        const s = spec("exit", CONTRACT_COMMANDS.exitThree);
        const id = await create(s);
        const fresh = await engine.inspectContainer(id);
        assert.equal(fresh?.state, "created");
        assert.equal(fresh.exitCode, null);
        assert.equal(fresh.name, s.name);
        assert.equal(fresh.labels[LABEL.instance], instance);
        assert.equal(fresh.labels["io.slipway.case"], "exit");
        await engine.startContainer(id);
        assert.equal(await engine.waitContainer(id), 3);
        const afterExit = await engine.inspectContainer(id);
        assert.equal(afterExit?.state, "exited");
        assert.equal(afterExit.exitCode, 3);
        assert.equal(afterExit.oomKilled, false);
        assert.notEqual(afterExit.startedAt, null);
        assert.equal(await engine.waitContainer(id), 3, "waiting again answers at once");
        const lines = await logs(id);
        assert.deepEqual(stdout(lines), ["out-1", "out-2"]);
        assert.deepEqual(
          lines.filter((l) => l.stream === "stderr").map((l) => l.line),
          ["err-1"],
        );
        const last = await logs(id, { follow: false, tail: 1 });
        assert.equal(last.length, 1);
        assert.ok(["out-2", "err-1"].includes(last[0]?.line ?? ""), "the last line");
      },

      "initializes a created container ahead, which then starts and runs as usual": async () => {
        const { engine } = fixture();
        if (engine.initContainer === undefined) return;
        const id = await create(spec("init", CONTRACT_COMMANDS.exitThree));
        await engine.initContainer(id);
        await engine.initContainer(id); // twice is fine
        const ready = await engine.inspectContainer(id);
        assert.equal(ready?.state, "created", "nothing runs yet");
        assert.equal(ready.startedAt, null);
        await engine.startContainer(id);
        assert.equal(await engine.waitContainer(id), 3);
        assert.deepEqual(stdout(await logs(id)), ["out-1", "out-2"]);
        await engine.removeContainer(id);
        assert.equal(await engine.inspectContainer(id), undefined);
        // One initialized and never started goes as quietly.
        const unused = await create(spec("init-unused", CONTRACT_COMMANDS.exitThree));
        await engine.initContainer(unused);
        await engine.removeContainer(unused);
        assert.equal(await engine.inspectContainer(unused), undefined);
      },

      "lists containers by label": async () => {
        const { engine } = fixture();
        const a = await create(spec("list-a", CONTRACT_COMMANDS.exitThree));
        await create(spec("list-b", CONTRACT_COMMANDS.exitThree));
        const listed = await engine.listContainers({ ...tag, "io.slipway.case": "list-a" });
        assert.deepEqual(
          listed.map((c) => c.id),
          [a],
        );
        const all = await engine.listContainers(tag);
        assert.ok(all.length >= 2);
      },

      "stops a running container, and stopping or removing twice is fine": async () => {
        const { engine } = fixture();
        const id = await create(spec("stop", CONTRACT_COMMANDS.sleep));
        await engine.startContainer(id);
        assert.equal((await engine.inspectContainer(id))?.state, "running");
        await engine.startContainer(id);
        await engine.stopContainer(id, 2);
        const stopped = await engine.inspectContainer(id);
        assert.equal(stopped?.state, "exited");
        assert.notEqual(stopped.exitCode, 0);
        await engine.stopContainer(id, 2);
        await engine.removeContainer(id);
        assert.equal(await engine.inspectContainer(id), undefined);
        await engine.removeContainer(id);
      },

      "follows logs until the container exits": async () => {
        const { engine } = fixture();
        const id = await create(spec("follow", CONTRACT_COMMANDS.twoLines));
        await engine.startContainer(id);
        const lines = await logs(id, { follow: true, signal: AbortSignal.timeout(30_000) });
        assert.deepEqual(stdout(lines), ["first", "second"]);
      },

      "stops following logs quietly when the signal aborts": async () => {
        const { engine } = fixture();
        const id = await create(spec("abort-logs", CONTRACT_COMMANDS.readyThenSleep));
        await engine.startContainer(id);
        const controller = new AbortController();
        const seen: string[] = [];
        const deadline = setTimeout(() => {
          controller.abort(new Error("the log line never came"));
        }, 20_000);
        for await (const line of engine.logs(id, { follow: true, signal: controller.signal })) {
          seen.push(line.line);
          controller.abort();
        }
        clearTimeout(deadline);
        assert.deepEqual(seen, ["ready"]);
        await engine.removeContainer(id);
      },

      "attaches to a container's output live, from its start to its exit": async () => {
        const { engine } = fixture();
        const id = await create(spec("attach-out", CONTRACT_COMMANDS.exitThree));
        const output = await engine.attachOutput(id, AbortSignal.timeout(30_000));
        const lines: LogLine[] = [];
        const reading = (async () => {
          for await (const line of output) lines.push(line);
        })();
        await engine.startContainer(id);
        await reading;
        assert.deepEqual(stdout(lines), ["out-1", "out-2"]);
        assert.deepEqual(
          lines.filter((l) => l.stream === "stderr").map((l) => l.line),
          ["err-1"],
        );
        assert.equal(await engine.waitContainer(id), 3);
      },

      "writes input to a started container's stdin, then streams what it prints": async () => {
        const { engine } = fixture();
        const id = await create(spec("stdin", CONTRACT_COMMANDS.readInput, { stdin: true }));
        await engine.startContainer(id);
        // Started, it waits for its input (as a build container waits for its build).
        assert.equal((await engine.inspectContainer(id))?.state, "running");
        const output = await engine.attachOutput(id, AbortSignal.timeout(30_000), "one two\n");
        const lines: LogLine[] = [];
        for await (const line of output) lines.push(line);
        assert.deepEqual(stdout(lines), ["got one and two"]);
        assert.equal(await engine.waitContainer(id), 0);
      },

      "stops reading attached output when asked, leaving the container running": async () => {
        const { engine } = fixture();
        const id = await create(spec("attach-stop", CONTRACT_COMMANDS.readyThenSleep));
        const output = await engine.attachOutput(id, AbortSignal.timeout(30_000));
        const first = (async () => {
          for await (const line of output) return line.line;
          return undefined;
        })();
        await engine.startContainer(id);
        assert.equal(await first, "ready");
        assert.equal((await engine.inspectContainer(id))?.state, "running");
        await engine.stopContainer(id, 0);
      },

      "attaches to a terminal container: output through the stream, resizable": async () => {
        const { engine } = fixture();
        const id = await create(spec("tty", CONTRACT_COMMANDS.twoLines, { tty: true }));
        const terminal = await engine.attachContainer(id);
        const chunks: Buffer[] = [];
        terminal.on("data", (chunk: Buffer) => chunks.push(chunk));
        const ended = new Promise((resolve) => terminal.once("end", resolve));
        await engine.startContainer(id);
        await engine.resizeContainer(id, { rows: 30, cols: 90 });
        assert.equal(await engine.waitContainer(id, AbortSignal.timeout(30_000)), 0);
        await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        terminal.destroy();
        // A terminal ends lines with CR LF and has no separate stderr.
        assert.match(Buffer.concat(chunks).toString(), /first\r\n(.|\n)*second\r\n/);
      },

      "waitContainer gives up when its signal aborts": async () => {
        const { engine } = fixture();
        const id = await create(spec("wait-abort", CONTRACT_COMMANDS.sleep));
        await engine.startContainer(id);
        await assert.rejects(engine.waitContainer(id, AbortSignal.timeout(300)), (error: unknown) =>
          ["AbortError", "TimeoutError"].includes((error as Error).name),
        );
        await engine.removeContainer(id);
      },

      "refuses to wait for a container that was never started": async () => {
        const id = await create(spec("never-started", CONTRACT_COMMANDS.exitThree));
        await assert.rejects(fixture().engine.waitContainer(id), ConflictError);
      },

      "creates one isolated /24 per network from the pool, once": async () => {
        const { engine, networkPool } = fixture();
        const second = `ct-${run}-net2`;
        networks.push(second);
        const first = await engine.ensureNetwork(network, tag);
        const again = await engine.ensureNetwork(network, tag);
        assert.equal(again.id, first.id);
        const other = await engine.ensureNetwork(second, tag);
        for (const n of [first, other]) {
          assert.match(n.subnet, /\/24$/);
          assert.ok(overlaps(parseCidr(n.subnet), parseCidr(networkPool)), `${n.subnet} in pool`);
        }
        assert.ok(!overlaps(parseCidr(first.subnet), parseCidr(other.subnet)));
        const names = (await engine.listNetworks(tag)).map((n) => n.name);
        assert.ok(names.includes(network) && names.includes(second));

        const id = await create(spec("address", CONTRACT_COMMANDS.sleep, { network: second }));
        await engine.startContainer(id);
        const address = (await engine.inspectContainer(id))?.addresses[second];
        assert.ok(
          address !== undefined && overlaps(parseCidr(`${address}/32`), parseCidr(other.subnet)),
        );
        await assert.rejects(engine.removeNetwork(second), ConflictError);
        await engine.removeContainer(id);
        await engine.removeNetwork(second);
        assert.ok(!(await engine.listNetworks(tag)).some((n) => n.name === second));
        await engine.removeNetwork(second);
      },

      "uploads into a fresh volume before start and shares it with the next container":
        async () => {
          const { engine } = fixture();
          const volume = `ct-${run}-data`;
          created.volumes.push(volume);
          await engine.ensureVolume(volume, tag);
          await engine.ensureVolume(volume, tag);
          assert.ok((await engine.listVolumes(tag)).some((v) => v.name === volume));
          const volumes = [{ volume, target: "/data", readOnly: false }];

          const reader = await create(spec("vol-read", CONTRACT_COMMANDS.catInput, { volumes }));
          await engine.putArchive(
            reader,
            "/data",
            packTar([tarFile("input.txt", "from-the-archive\n")]),
          );
          await engine.startContainer(reader);
          assert.equal(await engine.waitContainer(reader), 0);
          assert.deepEqual(stdout(await logs(reader)), ["from-the-archive"]);

          // Another container (another user namespace) can write to the same volume.
          const writer = await runToExit(
            spec("vol-write", CONTRACT_COMMANDS.writeOutput, { volumes }),
          );
          assert.equal(writer.code, 0);
          const files = await unpackTar(await engine.getArchive(writer.id, "/data/output.txt"));
          assert.deepEqual(
            files.map((f) => [f.path, f.data.toString()]),
            [["output.txt", "second-run\n"]],
          );

          await assert.rejects(engine.removeVolume(volume), ConflictError);
          await engine.removeContainer(reader);
          await engine.removeContainer(writer.id);
          await engine.removeVolume(volume);
          assert.ok(!(await engine.listVolumes(tag)).some((v) => v.name === volume));
          await engine.removeVolume(volume);
        },

      "puts files into a container and commits it into a labelled image": async () => {
        const { engine, instance } = fixture();
        const id = await create(spec("commit-src", CONTRACT_COMMANDS.catHello));
        await engine.putArchive(
          id,
          "/srv",
          packTar([tarFile("hello.txt", "hello from the layer\n")]),
        );
        const back = await unpackTar(await engine.getArchive(id, "/srv/hello.txt"));
        assert.deepEqual(
          back.map((f) => [f.path, f.data.toString()]),
          [["hello.txt", "hello from the layer\n"]],
        );
        const reference = `contract/committed-${run}:1`;
        created.images.push(reference);
        const image = await engine.commitContainer(id, {
          reference,
          labels: { ...tag, "io.slipway.kind": "committed", "io.slipway.note": 'say "hi" = ok' },
          env: ["FROM_COMMIT=yes"],
          cmd: [...CONTRACT_COMMANDS.catHello],
        });
        assert.ok(image.tags.includes(reference));
        assert.equal(image.labels[LABEL.instance], instance);
        assert.equal(image.labels["io.slipway.note"], 'say "hi" = ok');
        const child = await runToExit(
          spec("commit-run", CONTRACT_COMMANDS.catHello, { image: image.digest }),
        );
        assert.equal(child.code, 0);
        assert.deepEqual(stdout(await logs(child.id)), ["hello from the layer"]);
        assert.equal((await engine.inspectContainer(child.id))?.imageId, image.id);
      },

      "appends a layer of files to an image, running nothing and leaving no container":
        async () => {
          const { engine, instance, image: base } = fixture();
          if (engine.appendLayer === undefined) return;
          const reference = `contract/appended-${run}:1`;
          created.images.push(reference);
          const image = await engine.appendLayer(
            base,
            packTar([tarFile("srv/hello.txt", "hello from the layer\n", 0o640)]),
            {
              reference,
              labels: { ...tag, "io.slipway.kind": "appended" },
              env: ["FROM_LAYER=yes"],
              cmd: [...CONTRACT_COMMANDS.catHello],
            },
          );
          assert.ok(image.tags.includes(reference));
          assert.equal(image.labels[LABEL.instance], instance);
          assert.equal(image.labels["io.slipway.kind"], "appended");
          assert.deepEqual(
            (await engine.listContainers(tag)).filter((c) => c.image.includes("appended")),
            [],
          );
          const child = await runToExit(
            spec("appended-run", CONTRACT_COMMANDS.catHello, { image: image.digest }),
          );
          assert.equal(child.code, 0);
          assert.deepEqual(stdout(await logs(child.id)), ["hello from the layer"]);
          await assert.rejects(
            engine.appendLayer(`contract/none-${run}:1`, packTar([]), { reference, labels: tag }),
            NotFoundError,
          );
        },

      "refuses specs that ask for more than the baseline allows, before asking the engine":
        async () => {
          const bad = spec("bad", CONTRACT_COMMANDS.sleep, {
            volumes: [{ volume: "/etc", target: "/host-etc", readOnly: true }],
          });
          await assert.rejects(fixture().engine.createContainer(bad), ValidationError);
        },

      "answers NotFoundError for a missing network or image": async () => {
        const { engine } = fixture();
        await assert.rejects(
          engine.createContainer(
            spec("no-net", CONTRACT_COMMANDS.sleep, { network: `ct-${run}-none` }),
          ),
          NotFoundError,
        );
        await assert.rejects(
          engine.createContainer(
            spec("no-image", CONTRACT_COMMANDS.sleep, { image: `contract/none-${run}:1` }),
          ),
          NotFoundError,
        );
        await assert.rejects(engine.startContainer(`ct-${run}-missing`), NotFoundError);
      },

      "never touches what it did not create": async () => {
        const { engine } = fixture();
        const foreign = await fixture().createForeign();
        const refused = (error: unknown): boolean =>
          error instanceof ForbiddenError || error instanceof NotFoundError;
        const attempts: [string, () => Promise<unknown>][] = [
          ["start", () => engine.startContainer(foreign.container)],
          ["stop", () => engine.stopContainer(foreign.container, 0)],
          ["remove", () => engine.removeContainer(foreign.container)],
          ["wait", () => engine.waitContainer(foreign.container)],
          ["put", () => engine.putArchive(foreign.container, "/", packTar([tarFile("x", "x")]))],
          ["get", () => engine.getArchive(foreign.container, "/")],
          [
            "commit",
            () =>
              engine.commitContainer(foreign.container, {
                reference: `contract/x-${run}:1`,
                labels: {},
              }),
          ],
          [
            "append to",
            () =>
              engine.appendLayer?.(foreign.image, packTar([tarFile("x", "x")]), {
                reference: `contract/x-${run}:2`,
                labels: {},
              }) ?? Promise.reject(new ForbiddenError("no appendLayer")),
          ],
          ["inspect raw", () => engine.rawInspect(foreign.container)],
          ["remove network", () => engine.removeNetwork(foreign.network)],
          ["claim network", () => engine.ensureNetwork(foreign.network, {})],
          ["remove volume", () => engine.removeVolume(foreign.volume)],
          ["claim volume", () => engine.ensureVolume(foreign.volume, {})],
          ["remove image", () => engine.removeImage(foreign.image)],
          [
            "join network",
            () =>
              engine.createContainer(
                spec("join", CONTRACT_COMMANDS.sleep, { network: foreign.network }),
              ),
          ],
          [
            "mount volume",
            () =>
              engine.createContainer(
                spec("mount", CONTRACT_COMMANDS.sleep, {
                  volumes: [{ volume: foreign.volume, target: "/data", readOnly: false }],
                }),
              ),
          ],
        ];
        for (const [what, attempt] of attempts) await assert.rejects(attempt(), refused, what);
        assert.equal(await engine.inspectContainer(foreign.container), undefined);
        assert.equal(await engine.inspectImage(foreign.image), undefined);
        assert.ok(!(await engine.listContainers()).some((c) => c.id === foreign.container));
        assert.ok(!(await engine.listNetworks()).some((n) => n.name === foreign.network));
        assert.ok(!(await engine.listVolumes()).some((v) => v.name === foreign.volume));
        assert.ok(await fixture().foreignIntact(foreign), "the foreign objects are untouched");
      },
    };

    for (const [title, test] of Object.entries(cases)) void it(title, test);
  });
}

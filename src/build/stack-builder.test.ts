import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BuildFailedError } from "../domain/errors.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { withFileLock } from "../process/file-lock.ts";
import { buildStack, loadStack, STACK_CACHE_LOCK, STACK_LABELS } from "./stack-builder.ts";
import { DEFAULT_RECIPE, seedStackCache } from "./testing-stack.ts";

const RECIPE = DEFAULT_RECIPE;
let cacheDir = "";
const seedCache = () => seedStackCache(cacheDir);

before(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), "slipway-stack-cache-test-"));
});
after(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

describe("buildStack and loadStack (cached tarballs, fake engine)", () => {
  it("loadStack refuses a stack that was never built", async () => {
    await assert.rejects(
      loadStack({ recipeDir: RECIPE, cacheDir, engine: new FakeEngine() }),
      (error: unknown) => error instanceof BuildFailedError && /not built yet/.test(error.message),
    );
  });

  it("imports both images once, labelled, then finds them up to date", async () => {
    await seedCache();
    const engine = new FakeEngine();
    const lines: string[] = [];
    const options = {
      recipeDir: RECIPE,
      cacheDir,
      engine,
      mirror: "http://mirror",
      log: (l: string) => lines.push(l),
    };

    const stack = await buildStack(options);
    assert.equal(stack.name, "slipway-24");
    assert.equal(stack.run.reference, `slipway/stack-run:${stack.version}`);
    assert.equal(stack.build.digest, "sha256:build");
    assert.match(stack.run.rootfs, /run\.tar$/);
    const run = await engine.inspectImage(stack.run.reference);
    assert.deepEqual(
      [
        run?.labels[STACK_LABELS.name],
        run?.labels[STACK_LABELS.role],
        run?.labels[STACK_LABELS.digest],
      ],
      ["slipway-24", "run", "sha256:run"],
    );
    assert.deepEqual(
      engine.actions.map((a) => `${a.verb} ${a.name}`),
      [`import ${stack.run.reference}`, `import ${stack.build.reference}`],
    );
    assert.ok(lines.includes("root filesystems found in the cache"));

    engine.clearActions();
    await buildStack(options);
    assert.deepEqual(engine.actions, [], "idempotent: nothing imported again");

    const loaded = await loadStack({ recipeDir: RECIPE, cacheDir, engine });
    assert.deepEqual(loaded, stack);
  });
});

describe("buildStack while another build holds the cache", () => {
  it("waits for it, then takes its entry instead of building again", async () => {
    const shared = await mkdtemp(join(tmpdir(), "slipway-stack-cache-lock-test-"));
    try {
      const lines: string[] = [];
      let building: Promise<unknown> | undefined;
      await withFileLock(join(shared, STACK_CACHE_LOCK), async () => {
        building = buildStack({
          recipeDir: RECIPE,
          cacheDir: shared,
          engine: new FakeEngine(),
          // debootstrap from here would fail: the entry must come from the other build
          mirror: "http://127.0.0.1:9/debian",
          log: (l: string) => lines.push(l),
        });
        while (!lines.includes("waiting for another build of a stack to finish")) {
          await sleep(50);
        }
        await seedStackCache(shared);
      });
      const stack = (await building) as Awaited<ReturnType<typeof buildStack>>;
      assert.equal(stack.run.digest, "sha256:run");
      assert.ok(
        lines.includes("root filesystems found in the cache (built meanwhile)"),
        lines.join("\n"),
      );
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });
});

import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import { ValidationError } from "../domain/errors.ts";
import { generateToken, hashToken } from "../security/tokens.ts";
import { newId } from "../store/ids.ts";
import type { Store } from "../store/store.ts";
import { SecretBox } from "../security/secrets.ts";
import { releaseOps } from "./release-ops.ts";
import type { ApiDeps, ProcessInfo, RolloutStatus } from "./deps.ts";

/** What a {@link FakeDeps} was asked to do, for assertions. */
export interface FakeCalls {
  /** Each submitted upload: its path and its bytes, read before the API removed it. */
  readonly submitted: { app: string; path: string; bytes: Buffer }[];
  readonly destroyed: string[];
  /** Signals handed to buildLog, to check that a disconnect aborts following. */
  readonly logSignals: AbortSignal[];
  /** Apps whose build cache was cleared. */
  cacheCleared?: string[];
}

/** ApiDeps for tests, backed by a real store, with a scripted builder. */
export interface FakeDeps extends ApiDeps {
  readonly calls: FakeCalls;
}

/** How the fake builder behaves. */
export interface FakeBuilderScript {
  /** Log lines every build prints. */
  readonly lines: readonly string[];
  /** How a followed build ends. */
  readonly outcome: "succeeded" | "failed";
  /** Delay between lines when following, in ms. */
  readonly lineDelayMs: number;
  readonly processes: readonly ProcessInfo[];
}

const DEFAULT_SCRIPT: FakeBuilderScript = {
  lines: ["-----> Detecting buildpack", "-----> Node.js app detected", "-----> Done"],
  outcome: "succeeded",
  lineDelayMs: 0,
  processes: [],
};

/**
 * Fake dependencies for API and CLI tests. submitBuild accepts any gzip file (magic bytes
 * 1f 8b) and creates a pending build; following its log runs the "build": the lines, then
 * the scripted outcome (a release on success), written to the store like the real builder.
 */
export function fakeDeps(
  store: Store,
  options: { uploadDir: string; maxUploadBytes?: number; script?: Partial<FakeBuilderScript> },
): FakeDeps {
  const script = { ...DEFAULT_SCRIPT, ...options.script };
  const calls: FakeCalls = { submitted: [], destroyed: [], logSignals: [] };
  return {
    ...releaseOps({
      store,
      box: new SecretBox(randomBytes(32)),
      imageExists: () => Promise.resolve(true),
    }),
    store,
    uploadDir: options.uploadDir,
    maxUploadBytes: options.maxUploadBytes ?? 1024 * 1024,
    calls,
    async submitBuild(app: App, sourcePath: string): Promise<Build> {
      const bytes = await readFile(sourcePath);
      if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
        throw new ValidationError("source archive is not gzip-compressed");
      }
      calls.submitted.push({ app: app.name, path: sourcePath, bytes });
      const checksum = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      return store.createBuild(app.id, checksum);
    },
    async *buildLog(build: Build, { follow, signal }): AsyncIterable<string> {
      calls.logSignals.push(signal);
      for (const line of script.lines) {
        if (signal.aborted) return;
        if (follow && script.lineDelayMs > 0) await delay(script.lineDelayMs);
        yield line;
      }
      if (follow && build.status !== "succeeded" && build.status !== "failed") {
        await finish(store, build, script.outcome);
      }
    },
    processes(): Promise<ProcessInfo[]> {
      return Promise.resolve([...script.processes]);
    },
    async rollout(app: App): Promise<RolloutStatus> {
      // The fake rolls out at once: whatever the newest release is, it serves.
      const version = (await store.currentRelease(app.id))?.version ?? null;
      return { desired: version, serving: version };
    },
    async destroyApp(app: App): Promise<void> {
      calls.destroyed.push(app.name);
      await store.deleteApp(app.id);
    },
    clearBuildCache(app: App): Promise<void> {
      calls.cacheCleared = [...(calls.cacheCleared ?? []), app.name];
      return Promise.resolve();
    },
    onInternalError: () => undefined,
  };
}

/** Creates a token with the given scopes and returns its secret. */
export async function createTestToken(
  store: Store,
  scopes: readonly string[] = ["admin"],
): Promise<{ id: string; secret: string }> {
  const secret = generateToken();
  const id = newId("tok");
  await store.createToken({ id, name: id, hash: hashToken(secret), scopes });
  return { id, secret };
}

async function finish(store: Store, build: Build, outcome: "succeeded" | "failed"): Promise<void> {
  const finishedAt = new Date().toISOString();
  if (outcome === "failed") {
    await store.updateBuild(build.id, { status: "failed", error: "no buildpack", finishedAt });
    return;
  }
  const release = await store.createRelease({
    appId: build.appId,
    imageDigest: `sha256:${"a".repeat(64)}`,
    imageRef: `slipway/app@sha256:${"a".repeat(64)}`,
    buildId: build.id,
    processTypes: { web: "node server.js" },
    stack: "debian-12@1",
    buildpacks: ["nodejs"],
    description: `build ${build.id}`,
  });
  await store.updateBuild(build.id, { status: "succeeded", releaseId: release.id, finishedAt });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

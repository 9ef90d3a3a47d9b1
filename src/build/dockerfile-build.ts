import type { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { BuildFailedError, ValidationError } from "../domain/errors.ts";
import { parseProcfile, type ProcessTypes } from "../domain/procfile.ts";
import type { ContainerLimits, Engine, ImageInfo } from "../engine/engine.ts";
import { APP_UID } from "./app-rootfs.ts";
import { rootRunLines, runSteps, type RunStep } from "./dockerfile-user.ts";
import { asNodeReadable, forEachTarEntry, packStream, type PackHeader } from "./tar-stream-node.ts";

/** What the app's Dockerfile says about how to run it (the parts Slipway needs). */
export interface DockerfileFacts {
  /** The web command: ENTRYPOINT and CMD of the last stage, as one shell command. */
  readonly command: string | null;
  readonly workdir: string | null;
  readonly user: string | null;
  /** Every RUN step, with what decides the user it runs as (see dockerfile-user.ts). */
  readonly runs: readonly RunStep[];
}

/**
 * Reads the last stage's CMD, ENTRYPOINT, WORKDIR and USER (exec form or shell form; line
 * continuations joined). Not a full Dockerfile parser: enough to run the image's own command.
 */
export function readDockerfile(text: string): DockerfileFacts {
  const lines = text.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  let cmd: string | null = null;
  let entrypoint: string | null = null;
  let workdir: string | null = null;
  let user: string | null = null;
  for (const raw of lines) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(raw);
    if (match === null) continue;
    const instruction = (match[1] ?? "").toUpperCase();
    const rest = (match[2] ?? "").trim();
    if (instruction === "FROM") [cmd, entrypoint, workdir, user] = [null, null, null, null];
    if (instruction === "CMD") cmd = shellForm(rest);
    if (instruction === "ENTRYPOINT") entrypoint = shellForm(rest);
    if (instruction === "WORKDIR" && rest.startsWith("/")) workdir = rest;
    if (instruction === "USER") user = rest;
  }
  const command = [entrypoint, cmd].filter((part) => part !== null && part !== "").join(" ");
  return { command: command === "" ? null : command, workdir, user, runs: runSteps(text) };
}

/** `["node", "a b.js"]` -> `'node' 'a b.js'`; the shell form as it is. */
function shellForm(value: string): string {
  if (!value.startsWith("[")) return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed) && parsed.every((part) => typeof part === "string")) {
      return parsed.map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(" ");
    }
  } catch {
    // Not JSON: Docker takes it as the shell form too.
  }
  return value;
}

/** Process types of a Dockerfile app: its Procfile, else web = the image's own command. */
export function dockerfileProcessTypes(
  facts: DockerfileFacts,
  procfile: string | undefined,
): ProcessTypes {
  let types: ProcessTypes = {};
  if (procfile !== undefined) {
    try {
      types = parseProcfile(procfile);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new BuildFailedError(`${error.message} (${error.details.join("; ")})`, {
        cause: error,
      });
    }
  }
  if (!("web" in types) && facts.command !== null) types = { web: facts.command, ...types };
  // The launcher starts in /app; the image's own WORKDIR is where its command expects to be.
  if (facts.workdir !== null && facts.workdir !== "/app") {
    const dir = `'${facts.workdir.replaceAll("'", "'\\''")}'`;
    types = Object.fromEntries(
      Object.entries(types).map(([type, command]) => [type, `cd ${dir} && ${command}`]),
    );
  }
  if (Object.keys(types).length === 0) {
    throw new BuildFailedError("the Dockerfile has no CMD and the app no Procfile: nothing to run");
  }
  return types;
}

export interface DockerfileImageInput {
  readonly engine: Pick<Engine, "buildImage" | "removeImage" | "inspectImage">;
  /** The build's slug directory as Engine.getArchive returns it (entries "slug/..."). */
  readonly slug: Readable;
  readonly reference: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly facts: DockerfileFacts;
  /** Slipway's own files for /app/.slipway (launcher, process types). */
  readonly extra: readonly { path: string; content: string | Buffer; mode: number }[];
  readonly log: (line: string) => void;
  /** Memory and CPU caps of the Dockerfile's RUN steps (the build's limits). */
  readonly limits?: Pick<ContainerLimits, "memoryBytes" | "cpus">;
}

/**
 * Builds the app's Dockerfile with the engine (no network, no pulls: base images must be
 * local, e.g. FROM slipway/stack-run:24.1; RUN steps capped by `limits`, their output in
 * the build log and, when one fails, in the error), then adds Slipway's launcher on top so that the
 * image runs like every other app image. Throws BuildFailedError when the engine refuses.
 */
export async function buildDockerfileImage(input: DockerfileImageInput): Promise<ImageInfo> {
  const { engine } = input;
  if (engine.buildImage === undefined) {
    throw new BuildFailedError("this engine cannot build Dockerfiles");
  }
  await refuseRootSteps(engine, input.facts.runs);
  const baseReference = `${input.reference}-dockerfile`;
  let base: ImageInfo;
  try {
    input.log("-----> Building the Dockerfile (no network; base images must be local)");
    base = await engine.buildImage(rerooted(input.slug), {
      reference: baseReference,
      labels: input.labels,
      log: (line) => {
        input.log(`       ${line}`);
      },
      ...(input.limits === undefined ? {} : { limits: input.limits }),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BuildFailedError(`the Dockerfile did not build: ${message}`, { cause: error });
  }
  try {
    const hex = base.id.replace(/^sha256:/, "");
    const dockerfile = [
      `FROM ${hex}`,
      `COPY slipway/ /app/.slipway/`,
      `ENTRYPOINT []`,
      `CMD ["/app/.slipway/launch", "web"]`,
      ...(input.facts.user === null ? [`USER ${String(APP_UID)}:${String(APP_UID)}`] : []),
      "",
    ].join("\n");
    const context = packStream((pack) => {
      pack.entry({ name: "Dockerfile", mode: 0o644 }, dockerfile);
      pack.entry({ name: "slipway", type: "directory", mode: 0o755 });
      for (const file of input.extra) {
        const name = file.path.replace(/^\.slipway\//, "slipway/");
        for (const dir of parents(name)) pack.entry({ name: dir, type: "directory", mode: 0o755 });
        pack.entry({ name, mode: file.mode }, file.content);
      }
      return Promise.resolve();
    });
    return await engine.buildImage(context, { reference: input.reference, labels: input.labels });
  } finally {
    // The final image keeps the layers; only the intermediate tag goes.
    await engine.removeImage(baseReference).catch(() => undefined);
  }
}

/**
 * Refuses a Dockerfile with RUN steps that would run as root: the engine's builder runs
 * them without a user namespace, so root in a step would be root on the host.
 */
async function refuseRootSteps(
  engine: Pick<Engine, "inspectImage">,
  runs: readonly RunStep[],
): Promise<void> {
  const users = new Map<string, string | undefined>();
  for (const image of new Set(runs.filter((r) => r.user === null).map((r) => r.baseImage)))
    users.set(image, (await engine.inspectImage(image))?.user);
  const lines = rootRunLines(runs, (image) => users.get(image));
  if (lines.length === 0) return;
  throw new BuildFailedError(
    `the Dockerfile runs RUN steps as root (line ${lines.join(", ")}): Slipway runs RUN steps only as an unprivileged user. Add "USER 1000" (the run stack's app user) before them, or build as root outside Slipway and deploy the result`,
  );
}

function parents(name: string): string[] {
  const parts = name.split("/").slice(1, -1);
  return parts.map((_, index) => ["slipway", ...parts.slice(0, index + 1)].join("/"));
}

/** The slug tar ("slug/x") as a build context ("x"). */
function rerooted(slug: Readable): Readable {
  return packStream(async (pack) => {
    let root: string | undefined;
    await forEachTarEntry(slug, async (entry) => {
      const { header } = entry;
      const body = asNodeReadable(entry);
      root ??= header.name.split("/")[0] ?? "";
      const clean = header.name.replace(/\/+$/, "");
      const name = clean.startsWith(`${root}/`) ? clean.slice(root.length + 1) : null;
      if (name === null || !["file", "directory", "symlink", "link"].includes(header.type)) {
        await finished(body.resume());
        return;
      }
      const copy: PackHeader = {
        name,
        type: header.type,
        mode: header.mode & 0o777,
        size: header.type === "file" ? header.size : 0,
        mtime: header.mtime,
        ...(header.type === "symlink" ? { linkname: header.linkname } : {}),
        ...(header.type === "link"
          ? { linkname: header.linkname.replace(new RegExp(`^${root}/`), "") }
          : {}),
      };
      await pipeline(body, pack.entry(copy));
    });
  });
}

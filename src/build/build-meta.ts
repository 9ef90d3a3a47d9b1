import { BuildFailedError, ValidationError } from "../domain/errors.ts";
import { parseProcfile, type ProcessTypes } from "../domain/procfile.ts";
import { parseReleaseYaml } from "./buildpack-release.ts";

/** One buildpack that compiled the app. */
export interface UsedBuildpack {
  /** Built-in directory name ("nodejs"), git URL or app-relative path. */
  readonly id: string;
  /** What its bin/detect printed, e.g. "Node.js". */
  readonly name: string;
}

/**
 * A part of the slug the runner moved to /workspace/layers/NAME (it changes less often than
 * the app's code), with a digest of its content (BLAKE2b-256 of a normalized tar): equal
 * digests make equal image layers.
 */
export interface SlugPart {
  /** runtime, deps, or a name the last buildpack declared (docs/buildpacks.md). */
  readonly name: string;
  /** For a declared part, the buildpack's key for what it holds. */
  readonly digest: string;
  /** A declared part the buildpack did not make: the app's layer image of it is reused. */
  readonly reused: boolean;
}

/** What the build runner (buildpacks/_runner/build.sh) leaves in /workspace/out/meta. */
export type BuildMeta =
  | {
      readonly kind: "buildpacks";
      /** The first buildpack's id (kept for callers that show one). */
      readonly buildpack: string;
      /** The first buildpack's name. */
      readonly buildpackName: string;
      /** Every buildpack that ran, in order. */
      readonly buildpacks: readonly UsedBuildpack[];
      /** Procfile entries over the buildpacks' default process types. */
      readonly processTypes: ProcessTypes;
      /** The parts moved out of the slug, bottom layer first (none from older runners). */
      readonly parts: readonly SlugPart[];
    }
  | {
      /** No buildpack matched and the app has a Dockerfile: the engine builds it. */
      readonly kind: "dockerfile";
      readonly dockerfile: string;
      readonly procfile?: string;
    };

/** The most bytes the runner's metadata files may hold together. */
export const MAX_META_BYTES = 1024 * 1024;

/**
 * The metadata from the meta directory's files, by name ("meta/Procfile"). Throws
 * BuildFailedError for a bad Procfile.
 */
export function buildMetaFrom(files: ReadonlyMap<string, Buffer>): BuildMeta {
  const text = (name: string): string | undefined => files.get(`meta/${name}`)?.toString("utf8");
  const dockerfile = text("dockerfile");
  if (dockerfile !== undefined) {
    const procfile = text("Procfile");
    return { kind: "dockerfile", dockerfile, ...(procfile === undefined ? {} : { procfile }) };
  }

  const buildpacks = usedBuildpacks(text("buildpacks"), text("buildpack"));
  const first = buildpacks[0];
  if (first === undefined) throw new BuildFailedError("the build did not record its buildpack");

  // Default process types: each buildpack's bin/release, later buildpacks win.
  let defaults: ProcessTypes = parseReleaseYaml(text("release.yml") ?? "");
  const releases = [...files.keys()]
    .map((name) => /^meta\/release-(\d+)\.yml$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  for (const match of releases) {
    defaults = { ...defaults, ...parseReleaseYaml(text(match[0].slice(5)) ?? "") };
  }

  const procfile = text("Procfile");
  let declared: ProcessTypes = {};
  if (procfile !== undefined) {
    try {
      declared = parseProcfile(procfile);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new BuildFailedError(`${error.message} (${error.details.join("; ")})`, {
        cause: error,
      });
    }
  }
  // Heroku semantics: the Procfile wins; buildpack defaults fill in types it does not name.
  const processTypes = { ...defaults, ...declared };
  if (Object.keys(processTypes).length === 0) {
    throw new BuildFailedError('no process types: add a Procfile (e.g. "web: node server.js")');
  }
  return {
    kind: "buildpacks",
    buildpack: first.id,
    buildpackName: first.name,
    buildpacks,
    processTypes,
    parts: slugParts(text("layers") ?? ""),
  };
}

/**
 * "NAME HEX[ reused]" lines -> parts, bottom first: a declared part (any other name; the
 * only one that may be "reused"), then runtime, then deps. Anything else is the runner's
 * bug, not the app's.
 */
function slugParts(list: string): SlugPart[] {
  const parts: SlugPart[] = [];
  for (const line of list.split("\n")) {
    if (line.trim() === "") continue;
    const match = /^([a-z][a-z0-9-]{0,30}) ([0-9a-f]{64})( reused)?$/.exec(line.trim());
    const [, name = "", digest = "", reused] = match ?? [];
    const builtIn = name === "runtime" || name === "deps";
    // "app" is the app's own files, which are never a part.
    if (match === null || name === "app" || (reused !== undefined && builtIn)) {
      throw new BuildFailedError(`the build runner left a malformed layer list: ${line}`);
    }
    if (parts.some((part) => part.name === name)) {
      throw new BuildFailedError(`the build runner listed the ${name} layer twice`);
    }
    parts.push({ name, digest, reused: reused !== undefined });
  }
  return parts;
}

/** "id<TAB>name" lines; or the older single-buildpack file ("id\nname\n"). */
function usedBuildpacks(list: string | undefined, single: string | undefined): UsedBuildpack[] {
  if (list !== undefined) {
    return list
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => {
        const [id = "", name = id] = line.split("\t");
        return { id, name: name || id };
      });
  }
  const [id = "", name = id] = (single ?? "").split("\n");
  return id === "" ? [] : [{ id, name }];
}

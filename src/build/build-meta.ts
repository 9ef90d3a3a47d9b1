import type { Readable } from "node:stream";
import { BuildFailedError, ValidationError } from "../domain/errors.ts";
import { parseProcfile, type ProcessTypes } from "../domain/procfile.ts";
import { parseReleaseYaml } from "./buildpack-release.ts";
import { readTarFiles } from "./tar-files.ts";

/** What the build runner (buildpacks/_runner/build.sh) leaves in /workspace/meta. */
export interface BuildMeta {
  /** Directory name of the buildpack that compiled the app, e.g. "nodejs". */
  readonly buildpack: string;
  /** What its bin/detect printed, e.g. "Node.js". */
  readonly buildpackName: string;
  /** Procfile entries over the buildpack's default process types. */
  readonly processTypes: ProcessTypes;
}

const MAX_META_BYTES = 1024 * 1024;

/** Reads the tar of /workspace/meta. Throws BuildFailedError for a bad Procfile. */
export async function readBuildMeta(tar: Readable): Promise<BuildMeta> {
  const files = await readTarFiles(tar, MAX_META_BYTES);
  const text = (name: string): string | undefined => files.get(`meta/${name}`)?.toString("utf8");
  const [buildpack = "", buildpackName = buildpack] = (text("buildpack") ?? "").split("\n");
  if (buildpack === "") throw new BuildFailedError("the build did not record its buildpack");
  const defaults = parseReleaseYaml(text("release.yml") ?? "");
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
  return { buildpack, buildpackName, processTypes };
}

import { parseAppJson, type AppManifest } from "../domain/app-manifest.ts";
import { BuildFailedError, ValidationError } from "../domain/errors.ts";
import type { SourceArchive } from "./source-archive.ts";

/** The largest app.json read. */
export const APP_JSON_MAX_BYTES = 64 * 1024;

/**
 * Parses `app.json` at the root of a source, kept while the archive was checked
 * (openSourceArchive with `keepRootFiles: ["app.json"]`). Returns null when there is
 * none. A malformed one fails the build with a BuildFailedError that says what is wrong,
 * before the build runs.
 */
export function appManifestOf(archive: Pick<SourceArchive, "rootFile">): AppManifest | null {
  const file = archive.rootFile("app.json");
  if (file === null) return null;
  if (file === "too large") {
    throw new BuildFailedError(`malformed app.json: larger than ${APP_JSON_MAX_BYTES} bytes`);
  }
  try {
    return parseAppJson(file.toString("utf8"));
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new BuildFailedError(
        `${error.message}${error.details.length > 1 ? ` (${error.details.join("; ")})` : ""}`,
      );
    }
    throw error;
  }
}

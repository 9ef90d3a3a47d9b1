import type { SourceArchive } from "../build/source-archive.ts";
import { BoundedMap } from "../domain/bounded-map.ts";

/** More than the builds that can wait at once on one machine. */
const MAX_REMEMBERED = 64;

/**
 * Source archives `submitBuild` checked, kept for their build, which would otherwise read
 * and check the same file again (gunzip, tar, digest; and once more for app.json) before
 * anything else. Each is taken once; a build that finds none (the daemon restarted in
 * between) checks the file itself. The build still reads the file again for its
 * container, and that read checks the file's digest against the one checked here.
 */
export class ValidatedSources {
  readonly #archives = new BoundedMap<string, SourceArchive>(MAX_REMEMBERED);

  remember(path: string, archive: SourceArchive): void {
    this.#archives.set(path, archive);
  }

  take(path: string): SourceArchive | undefined {
    return this.#archives.take(path);
  }
}

import { mkdir, readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { HOST_MAP_FILE, type HostMap } from "../render.ts";
import { readIfExists, writeFileAtomic } from "./haproxy-config.ts";

/**
 * Writes a host map where the configuration expects it. Its name is a digest of its text
 * (render.ts), so a file already there holds the same text and is left alone.
 */
export async function writeHostMap(map: HostMap): Promise<void> {
  if ((await readIfExists(map.path)) === map.text) return;
  await mkdir(dirname(map.path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(map.path, map.text);
}

/**
 * Removes the host maps of earlier configurations once `keep`'s configuration runs:
 * HAProxy reads a map when a worker starts, so older workers do not need their files.
 */
export async function removeOtherHostMaps(dir: string, keep: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (HOST_MAP_FILE.test(name) && name !== basename(keep))
      await rm(join(dir, name), { force: true });
  }
}

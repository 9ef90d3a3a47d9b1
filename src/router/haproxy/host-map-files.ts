import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { HostMap } from "../render.ts";
import { readIfExists, writeFileAtomic } from "./haproxy-config.ts";

/** Writes the host map where the configuration expects it (unchanged text: left alone). */
export async function writeHostMap(map: HostMap): Promise<void> {
  if ((await readIfExists(map.path)) === map.text) return;
  await mkdir(dirname(map.path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(map.path, map.text);
}

/** Names of the maps of earlier versions, one file per content (`hosts-DIGEST.map`). */
const LEGACY_MAP = /^hosts-[0-9a-f]{16}\.map$/;

/**
 * Removes the host maps earlier versions named by digest, once a configuration naming the
 * fixed file runs: HAProxy reads a map when a worker starts, so older workers do not need
 * their files.
 */
export async function removeLegacyHostMaps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (LEGACY_MAP.test(name)) await rm(join(dir, name), { force: true });
  }
}

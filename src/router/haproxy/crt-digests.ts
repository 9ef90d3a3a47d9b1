import { createHash } from "node:crypto";
import { readIfExists } from "./haproxy-config.ts";

/**
 * Digests of the certificate files a crt-list names. A renewed certificate keeps its path,
 * so the router compares these with the digests of what the workers loaded to tell which
 * files to upload through the runtime API.
 */

/** sha256 of each file a crt-list names (a missing file hashes as empty). */
export async function digestFiles(crtList: string): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  // A line is "PEM [options] SNI..."; the PEM path never contains spaces.
  const paths = crtList.split("\n").map((line) => line.split(" ")[0] ?? "");
  for (const path of paths.filter((p) => p !== "" && !digests.has(p))) {
    const text = (await readIfExists(path)) ?? "";
    digests.set(path, createHash("sha256").update(text).digest("hex"));
  }
  return digests;
}

/** The digests HaproxyRouter recorded (JSON of path to digest); null when there is no readable record. */
export async function readDigests(path: string): Promise<Map<string, string> | null> {
  const text = await readIfExists(path);
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
    const entries = Object.entries(parsed);
    if (!entries.every(([, digest]) => typeof digest === "string")) return null;
    return new Map(entries as [string, string][]);
  } catch {
    return null;
  }
}

/** Files whose digest differs (every file when the applied digests are unknown). */
export function changedDigests(
  applied: ReadonlyMap<string, string> | null,
  next: ReadonlyMap<string, string> | null,
): Set<string> {
  if (next === null) return new Set();
  return new Set(
    [...next].filter(([path, digest]) => applied?.get(path) !== digest).map(([p]) => p),
  );
}

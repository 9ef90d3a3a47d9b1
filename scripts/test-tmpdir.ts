/**
 * Where `npm test` puts the tests' temporary directories (TMPDIR): every end-to-end test
 * starts a whole installation in one (its home, its own Podman storage), and each of them
 * imports the 1.1 GB stack into that storage. On a RAM-backed /dev/shm that import takes
 * about half as long as on the disk, and the test stage about 0.65 of the time (9 min
 * instead of 14 on a 2-core machine, docs/benchmarks.md "Test suite time").
 *
 * Only when it is safe: the caller set no TMPDIR of their own, /dev/shm is a tmpfs with
 * room for the run's peak (about 6 GB; 12 GiB asked), and the kernel can idmap tmpfs
 * mounts (6.3 and later), without which Podman's per-container user namespaces would copy
 * every image layer instead of mapping it. Otherwise the usual temporary directory.
 */
import { mkdtempSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";

const SHM = "/dev/shm";
const NEEDED_BYTES = 12 * 1024 ** 3;
const TMPFS_MAGIC = 0x01021994;

export interface TmpdirFacts {
  /** TMPDIR as the caller set it, if at all. */
  readonly callerTmpdir: string | undefined;
  /** /dev/shm's filesystem type and free bytes, when it exists. */
  readonly shm: { readonly type: number; readonly freeBytes: number } | undefined;
  /** The kernel release, e.g. "6.18.44-fc". */
  readonly kernel: string;
  /** /dev/shm's mount options. */
  readonly shmOptions: readonly string[];
}

/** Why the tests stay in the usual temporary directory, or undefined when /dev/shm serves. */
export function shmUnsuitable(facts: TmpdirFacts): string | undefined {
  if (facts.callerTmpdir !== undefined && facts.callerTmpdir !== "") return "TMPDIR is set";
  if (facts.shm === undefined) return `no ${SHM}`;
  if (facts.shm.type !== TMPFS_MAGIC) return `${SHM} is not a tmpfs`;
  if (facts.shm.freeBytes < NEEDED_BYTES) return `${SHM} has less than 12 GiB free`;
  const [major = 0, minor = 0] = facts.kernel.split(/[.-]/).map(Number);
  if (major < 6 || (major === 6 && minor < 3)) return "the kernel cannot idmap tmpfs (6.3+)";
  if (facts.shmOptions.includes("ro")) return `${SHM} is read-only`;
  return undefined;
}

/** What this machine says (the I/O half of shmUnsuitable). */
export function readTmpdirFacts(): TmpdirFacts {
  let shm: TmpdirFacts["shm"];
  try {
    const stats = statfsSync(SHM);
    shm = { type: stats.type, freeBytes: stats.bavail * stats.bsize };
  } catch {
    shm = undefined;
  }
  let shmOptions: string[] = [];
  try {
    const line = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .find((l) => l.split(" ")[1] === SHM);
    shmOptions = line?.split(" ")[3]?.split(",") ?? [];
  } catch {
    shmOptions = [];
  }
  return { callerTmpdir: process.env.TMPDIR, shm, kernel: release(), shmOptions };
}

/**
 * A fresh directory on /dev/shm for this run's TMPDIR, and its removal; undefined (with
 * why) when the tests should stay where they are.
 */
export function testTmpdir(
  facts: TmpdirFacts = readTmpdirFacts(),
): { dir: string; remove: () => void } | { why: string } {
  const why = shmUnsuitable(facts);
  if (why !== undefined) return { why };
  const dir = mkdtempSync(join(SHM, "slipway-test-"));
  return {
    dir,
    // Every test removes what it made; this takes what a killed one left.
    remove: () => {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

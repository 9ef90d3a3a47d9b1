import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

/**
 * Lazily unmounts everything mounted below dir, deepest first. Podman's overlay driver
 * leaves `<graphroot>/overlay` bind-mounted on itself after its service stops (and a
 * crashed service leaves more), which keeps the storage directory from being removed:
 * `slipway down --purge` and tests call this once the service is gone.
 */
export async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  const points = mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    // mountinfo escapes spaces and the like as octal (\040).
    .map((point) =>
      point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))),
    )
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await promisify(execFile)("umount", ["-l", point]);
}

/**
 * Regenerates slipway.json from a base profile:
 *
 *   npx node src/engine/seccomp/generate.ts [/usr/share/containers/seccomp.json]
 *
 * The base is containers-common's default (Debian 12: golang-github-containers-common
 * 0.50.1). The output is committed; seccomp-profile.test.ts checks its guarantees.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { format } from "prettier";
import { strictProfile, type SeccompProfile } from "./strict-profile.ts";

const base = process.argv[2] ?? "/usr/share/containers/seccomp.json";
const profile = strictProfile(JSON.parse(await readFile(base, "utf8")) as SeccompProfile);
const out = join(import.meta.dirname, "slipway.json");
// Formatted as the repository's prettier check wants it.
await writeFile(out, await format(JSON.stringify(profile), { parser: "json", printWidth: 100 }));
process.stdout.write(`wrote ${out} from ${base}\n`);

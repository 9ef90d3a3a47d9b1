import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ValidationError } from "../domain/errors.ts";

/**
 * A stack recipe directory (stacks/NAME/): stack.json, packages-run.txt, packages-build.txt
 * and an optional setup.sh run in the chroot after the run packages are installed.
 */
export interface StackRecipe {
  readonly dir: string;
  /** Stack name apps refer to, e.g. "slipway-24". */
  readonly name: string;
  /** Image tag, e.g. "24.1". */
  readonly version: string;
  /** Debian suite, e.g. "bookworm". */
  readonly suite: string;
  readonly variant: string;
  readonly components: readonly string[];
  readonly runPackages: readonly string[];
  readonly buildPackages: readonly string[];
  readonly setupScript: string | null;
  /** sha256 over every file of the recipe: the cache key of its tarballs. */
  readonly digest: string;
}

const WORD = /^[a-z0-9][a-z0-9.+-]*$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Reads and checks a recipe directory. */
export async function readStackRecipe(dir: string): Promise<StackRecipe> {
  const files = await readRecipeFiles(dir);
  const manifest = parseManifest(files.get("stack.json"), dir);
  const setup = files.get("setup.sh");
  return {
    dir,
    ...manifest,
    runPackages: parsePackageList(files.get("packages-run.txt") ?? "", "packages-run.txt"),
    buildPackages: parsePackageList(files.get("packages-build.txt") ?? "", "packages-build.txt"),
    setupScript: setup === undefined ? null : setup,
    digest: digestOf(files),
  };
}

async function readRecipeFiles(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    throw new ValidationError(`cannot read stack recipe ${dir}`, [], { cause: error });
  }
  const files = new Map<string, string>();
  for (const name of names) files.set(name, await readFile(join(dir, name), "utf8"));
  return files;
}

function parseManifest(
  text: string | undefined,
  dir: string,
): Pick<StackRecipe, "name" | "version" | "suite" | "variant" | "components"> {
  if (text === undefined) throw new ValidationError(`stack recipe ${dir} has no stack.json`);
  const data: unknown = JSON.parse(text);
  if (typeof data !== "object" || data === null) {
    throw new ValidationError(`${dir}/stack.json must hold an object`);
  }
  const field = (key: string, pattern: RegExp): string => {
    const value = (data as Record<string, unknown>)[key];
    if (typeof value !== "string" || !pattern.test(value)) {
      throw new ValidationError(`${dir}/stack.json: "${key}" is missing or invalid`);
    }
    return value;
  };
  const components = (data as Record<string, unknown>).components ?? ["main"];
  if (
    !Array.isArray(components) ||
    !components.every((c) => typeof c === "string" && WORD.test(c))
  ) {
    throw new ValidationError(`${dir}/stack.json: "components" must be a list of names`);
  }
  return {
    name: field("name", WORD),
    version: field("version", VERSION),
    suite: field("suite", WORD),
    variant: field("variant", WORD),
    components: components as string[],
  };
}

/** One Debian package name per line; `#` starts a comment. */
export function parsePackageList(text: string, file: string): string[] {
  const packages: string[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    if (!WORD.test(line)) throw new ValidationError(`${file}:${index + 1}: not a package name`);
    packages.push(line);
  }
  return packages;
}

function digestOf(files: ReadonlyMap<string, string>): string {
  const hash = createHash("sha256");
  for (const [name, content] of files) {
    hash.update(`${name}\0${String(Buffer.byteLength(content))}\0`).update(content);
  }
  return hash.digest("hex");
}

import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";

/**
 * Golden-file assertions for the renderer's tests (kept apart from render.test.ts, which
 * the lint rules hold to the renderer's no-I/O imports).
 * `UPDATE_GOLDEN=1 npx node --test src/router/render.test.ts` rewrites the files.
 */
const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === "1";

/** Compares `actual` with testdata/NAME.cfg (or rewrites it under UPDATE_GOLDEN=1). */
export async function assertGolden(name: string, actual: string): Promise<void> {
  const file = new URL(`./${name}.cfg`, import.meta.url);
  if (UPDATE_GOLDEN) await writeFile(file, actual);
  const expected = await readFile(file, "utf8");
  assert.equal(actual, expected, `${name}.cfg differs; UPDATE_GOLDEN=1 rewrites it`);
}

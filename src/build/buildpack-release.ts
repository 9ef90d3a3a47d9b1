import { validateProcessType, type ProcessTypes } from "../domain/procfile.ts";
import { BuildFailedError } from "../domain/errors.ts";

/**
 * Reads `default_process_types` from a buildpack's bin/release output, the YAML subset
 * buildpacks print:
 *
 *     ---
 *     default_process_types:
 *       web: npm start
 *
 * Other keys (addons, config_vars) are ignored. Values may be quoted.
 */
export function parseReleaseYaml(text: string): ProcessTypes {
  const types: Record<string, string> = {};
  let inTypes = false;
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === "" || raw.trim().startsWith("#") || raw.trim() === "---") continue;
    const indented = /^\s/.test(raw);
    if (!indented) {
      inTypes = /^default_process_types\s*:\s*$/.test(raw);
      continue;
    }
    if (!inTypes) continue;
    const match = /^\s+([^:\s]+)\s*:\s*(.*)$/.exec(raw);
    const [, name, value] = match ?? [];
    if (name === undefined || value === undefined) {
      throw new BuildFailedError(`buildpack release output is not valid: ${JSON.stringify(raw)}`);
    }
    types[validateProcessType(name)] = unquote(value.trim());
  }
  return types;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return JSON.parse(value) as string;
  }
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
    return value.slice(1, -1).replaceAll("''", "'");
  }
  return value;
}

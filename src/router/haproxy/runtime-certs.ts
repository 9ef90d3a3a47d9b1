import { DriverError } from "../../domain/errors.ts";
import { runtimeCommand } from "../metrics/show-stat.ts";

/** A crt-list change HAProxy can take through its runtime API, without a reload. */
export interface CrtListChange {
  /** PEM files that are new or whose content changed: uploaded (and created if new). */
  readonly upload: readonly string[];
  /** crt-list lines (without newline) to insert. */
  readonly add: readonly string[];
  /** crt-list lines (without newline) to delete. */
  readonly remove: readonly string[];
  /** PEM files no line names any more: dropped from HAProxy's memory. */
  readonly forget: readonly string[];
}

/**
 * What changes between two crt-list texts, given the PEM files whose content changed.
 * Null when the runtime API cannot express it: the first line (the default certificate,
 * served without SNI) differs. Pure.
 */
export function crtListChange(
  previous: string,
  next: string,
  changedFiles: ReadonlySet<string>,
): CrtListChange | null {
  const before = lines(previous);
  const after = lines(next);
  if (before[0] !== after[0] || after[0] === undefined) return null;
  const pemsBefore = new Set(before.map(pemOf));
  const pemsAfter = new Set(after.map(pemOf));
  return {
    upload: [...pemsAfter].filter((pem) => changedFiles.has(pem) || !pemsBefore.has(pem)),
    add: after.filter((line) => !before.includes(line)),
    remove: before.filter((line) => !after.includes(line)),
    forget: [...pemsBefore].filter((pem) => !pemsAfter.has(pem)),
  };
}

/** True when the change does nothing. */
export function isEmptyChange(change: CrtListChange): boolean {
  return (
    change.upload.length + change.add.length + change.remove.length + change.forget.length === 0
  );
}

/**
 * Applies a crt-list change through the runtime API: uploads each new or changed PEM
 * (`new ssl cert` when HAProxy does not know the file, `set ssl cert`, `commit ssl cert`),
 * inserts the new lines (`add ssl crt-list`), then deletes the old ones (`del ssl crt-list`
 * with the line number from `show ssl crt-list -n`) and the certificates nothing names any
 * more (`del ssl cert`). New lines go in before old ones go out, so a host whose options
 * change is matched by one of them at every moment. Throws DriverError when HAProxy
 * refuses a step; the caller then reloads, which reads the files on disk again.
 */
export async function applyCrtListChange(
  statsSocket: string,
  crtList: string,
  change: CrtListChange,
  readPem: (path: string) => Promise<string>,
): Promise<void> {
  const ask = async (command: string, expect: RegExp): Promise<string> => {
    const answer = (await runtimeCommand(statsSocket, command)).trim();
    if (!expect.test(answer)) {
      const shown = command.split("\n")[0] ?? command;
      throw new DriverError("haproxy", `runtime API "${shown}": ${answer || "no answer"}`);
    }
    return answer;
  };
  for (const pem of change.upload) {
    const payload = pemPayload(await readPem(pem));
    const set = `set ssl cert ${pem} <<\n${payload}\n`;
    const answer = (await runtimeCommand(statsSocket, set)).trim();
    if (/not referenced/i.test(answer)) {
      await ask(`new ssl cert ${pem}`, /New empty certificate store/);
      await ask(set, /Transaction (created|updated)/);
    } else if (!/Transaction (created|updated)/.test(answer)) {
      // A transaction left open by an interrupted earlier attempt blocks every other one.
      await runtimeCommand(statsSocket, `abort ssl cert ${pem}`);
      throw new DriverError("haproxy", `runtime API "set ssl cert ${pem}": ${answer}`);
    }
    try {
      await ask(`commit ssl cert ${pem}`, /Success!/);
    } catch (error) {
      await runtimeCommand(statsSocket, `abort ssl cert ${pem}`);
      throw error;
    }
  }
  for (const line of change.add) {
    await ask(`add ssl crt-list ${crtList} <<\n${line}\n`, /Success!/);
  }
  if (change.remove.length > 0) {
    const numbered = await ask(`show ssl crt-list -n ${crtList}`, /^# /);
    for (const line of change.remove) {
      const number = lineNumber(numbered, line);
      if (number === null) throw new DriverError("haproxy", `crt-list has no line "${line}"`);
      await ask(`del ssl crt-list ${crtList} ${pemOf(line)}:${number}`, /deleted in crtlist/);
    }
  }
  for (const pem of change.forget) {
    // Harmless when it fails (the file only stays in memory); the next reload drops it.
    await runtimeCommand(statsSocket, `del ssl cert ${pem}`);
  }
}

/**
 * The line number HAProxy gives `line` in `show ssl crt-list -n` output, whose lines read
 * "PEM:N [options] SNI". Null when absent.
 */
export function lineNumber(numbered: string, line: string): number | null {
  const pem = pemOf(line);
  const rest = line.slice(pem.length);
  for (const shown of numbered.split("\n")) {
    if (!shown.startsWith(`${pem}:`)) continue;
    const match = /^:(\d+)(.*)$/.exec(shown.slice(pem.length));
    if (match !== null && normalize(match[2] ?? "") === normalize(rest)) return Number(match[1]);
  }
  return null;
}

/** A PEM file as a CLI payload: no empty line (it would end the payload), no CR. */
export function pemPayload(text: string): string {
  const body = text
    .replaceAll("\r", "")
    .split("\n")
    .filter((line) => line.trim() !== "");
  if (body.length === 0 || body.some((line) => !/^[A-Za-z0-9+/=:,. -]+$/.test(line))) {
    throw new DriverError("haproxy", "certificate file is not plain PEM");
  }
  return body.join("\n");
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

function pemOf(line: string): string {
  return line.split(" ")[0] ?? "";
}

function normalize(text: string): string {
  return text.trim().replace(/\s+/g, " ");
}

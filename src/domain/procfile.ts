import { ValidationError } from "./errors.ts";

/** Process type name to command, e.g. { web: "node server.js" }. */
export type ProcessTypes = Readonly<Record<string, string>>;

/**
 * Process type names become parts of container names and CLI arguments, so they are held
 * to letters, digits, dashes and underscores, at most 30, starting with a letter or digit.
 */
const TYPE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$/;
const LINE = /^([^:\s]+)\s*:\s*(.*)$/;
const MAX_COMMAND = 4096;

/** Throws ValidationError unless name is a valid process type. */
export function validateProcessType(name: string): string {
  if (!TYPE.test(name)) {
    throw new ValidationError(
      `invalid process type "${name}": use up to 30 letters, digits, "-" and "_"`,
    );
  }
  return name;
}

/**
 * Parses a Procfile: one `type: command` per line; blank lines and lines starting with `#`
 * are ignored. Every problem is reported with its line number in `details`.
 */
export function parseProcfile(text: string): ProcessTypes {
  const types: Record<string, string> = {};
  const problems: string[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `Procfile line ${index + 1}`;
    const match = LINE.exec(line);
    const [, name, command] = match ?? [];
    if (name === undefined || command === undefined) {
      problems.push(`${where}: expected "type: command", got ${JSON.stringify(line)}`);
    } else if (!TYPE.test(name)) {
      problems.push(`${where}: invalid process type "${name}"`);
    } else if (command.trim() === "") {
      problems.push(`${where}: process type "${name}" has no command`);
    } else if (command.length > MAX_COMMAND) {
      problems.push(`${where}: the command is longer than ${MAX_COMMAND} characters`);
    } else if (Object.hasOwn(types, name)) {
      problems.push(`${where}: process type "${name}" is defined twice`);
    } else {
      types[name] = command.trim();
    }
  }
  if (problems.length > 0) {
    throw new ValidationError(`malformed Procfile: ${problems[0] ?? ""}`, problems);
  }
  return types;
}

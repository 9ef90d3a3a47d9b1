import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

/** A flag a command accepts. Boolean flags take no value; string flags take exactly one. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly description: string;
  /** Shown in help for string flags: --app NAME. */
  readonly placeholder?: string;
  /** One-letter alias, e.g. "a" for -a. */
  readonly short?: string;
  /** A string flag the command cannot run without. */
  readonly required?: boolean;
  /**
   * A string flag that may be given several times; the values arrive joined by
   * VARIADIC_SEPARATOR (split them with splitVariadic).
   */
  readonly repeatable?: boolean;
}

/** A positional argument a command accepts, in order. */
export interface ArgSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  /**
   * The last argument may take every remaining positional; they arrive joined by
   * VARIADIC_SEPARATOR (split them with splitVariadic).
   */
  readonly variadic?: boolean;
}

/** Joins the values of a variadic argument (NUL cannot occur in argv). */
export const VARIADIC_SEPARATOR = "\u0000";

/** The values of a variadic argument. */
export function splitVariadic(value: string | undefined): string[] {
  return value === undefined || value === "" ? [] : value.split(VARIADIC_SEPARATOR);
}

/** Flags by long name. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Parsed flag values: booleans default to false, absent optional strings are undefined. */
export type FlagValues<F extends FlagSpecs> = {
  readonly [K in keyof F]: F[K]["type"] extends "boolean"
    ? boolean
    : F[K]["required"] extends true
      ? string
      : string | undefined;
};

/** Parsed positionals by name; optional ones may be undefined. */
export type ArgValues<A extends readonly ArgSpec[]> = {
  readonly [S in A[number] as S["name"]]: S["optional"] extends true ? string | undefined : string;
};

/** Flags every command accepts. */
export const GLOBAL_FLAGS = {
  help: { type: "boolean", short: "h", description: "show help for the command" },
  json: { type: "boolean", description: "print machine-readable JSON" },
  home: {
    type: "string",
    placeholder: "DIR",
    description: "use the installation at DIR (default: $SLIPWAY_HOME, else the login file)",
  },
} as const satisfies FlagSpecs;

/** The raw result of parsing, before it is typed by a command. */
export interface ParsedArgs {
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly args: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses argv (after the command name) against a command's flags and positionals, with
 * node:util's tokenizer and our own checks, so every mistake gets a message that names the
 * flag: unknown flags, a value on a boolean, a missing value, a flag given twice, too many
 * or too few arguments. `--` ends flags.
 */
export function parseCommandArgs(
  command: string,
  argv: readonly string[],
  flagSpecs: FlagSpecs,
  argSpecs: readonly ArgSpec[],
): ParsedArgs {
  const options = Object.fromEntries(
    Object.entries(flagSpecs).map(([name, spec]) => [
      name,
      spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short },
    ]),
  );
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const usage = (message: string): UsageError => new UsageError(message, command);

  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") continue;
    const spec = Object.hasOwn(flagSpecs, token.name) ? flagSpecs[token.name] : undefined;
    if (spec === undefined) throw usage(`unknown flag ${token.rawName} for "${command}"`);
    if (token.name in flags && spec.repeatable !== true) {
      throw usage(`flag --${token.name} given more than once`);
    }
    if (spec.type === "boolean") {
      if (token.value !== undefined) throw usage(`flag --${token.name} takes no value`);
      flags[token.name] = true;
      continue;
    }
    const value = token.value;
    // "--app --json" would otherwise silently take "--json" as the app name.
    if (value === undefined || (!token.inlineValue && value.startsWith("-") && value !== "-")) {
      throw usage(
        `flag --${token.name} needs a value (--${token.name} ${spec.placeholder ?? "VALUE"})`,
      );
    }
    const previous = flags[token.name];
    flags[token.name] =
      typeof previous === "string" ? `${previous}${VARIADIC_SEPARATOR}${value}` : value;
  }

  for (const [name, spec] of Object.entries(flagSpecs)) {
    if (spec.type === "boolean") flags[name] ??= false;
    else if (spec.required === true && flags[name] === undefined) {
      throw usage(`missing flag --${name} ${spec.placeholder ?? "VALUE"}`);
    }
  }
  return { flags, args: assignPositionals(command, positionals, argSpecs) };
}

function assignPositionals(
  command: string,
  positionals: readonly string[],
  argSpecs: readonly ArgSpec[],
): Record<string, string | undefined> {
  const last = argSpecs.at(-1);
  if (last?.variadic === true && positionals.length > argSpecs.length) {
    const head = positionals.slice(0, argSpecs.length - 1);
    const rest = positionals.slice(argSpecs.length - 1).join(VARIADIC_SEPARATOR);
    return assignPositionals(command, [...head, rest], argSpecs);
  }
  if (positionals.length > argSpecs.length) {
    const extra = positionals.slice(argSpecs.length).join(" ");
    throw new UsageError(
      `unexpected argument${positionals.length - argSpecs.length > 1 ? "s" : ""}: ${extra}`,
      command,
    );
  }
  const args: Record<string, string | undefined> = {};
  argSpecs.forEach((spec, index) => {
    const value = positionals[index];
    if (value === undefined && spec.optional !== true) {
      throw new UsageError(`missing argument ${spec.name}`, command);
    }
    args[spec.name] = value;
  });
  return args;
}

/**
 * Splits the command name off argv: the first positional, skipping global flags (and the
 * value of --home) that may come before it.
 */
export function splitCommand(argv: readonly string[]): {
  name: string | undefined;
  rest: string[];
} {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined || arg === "--") break;
    if (arg === "--home") {
      i++;
      continue;
    }
    if (!arg.startsWith("-"))
      return { name: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

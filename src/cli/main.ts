import { loadConfig, type Config } from "../config/config.ts";
import { SlipwayError } from "../domain/errors.ts";
import { parseCommandArgs, splitCommand } from "./args.ts";
import { ApiClient } from "./client.ts";
import { builtinCommands } from "./commands/index.ts";
import { readCredentials } from "./credentials.ts";
import { ApiError, UsageError } from "./errors.ts";
import { commandHelp, generalHelp } from "./help-text.ts";
import { processIo, type CliIo } from "./io.ts";
import { cliOptionsFrom, type CliEnv } from "./options.ts";
import { findCommand, type Command, type CommandContext } from "./registry.ts";
import { closest } from "./suggest.ts";

/** Exit codes: success, a failure (API error, failed build), a usage mistake. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** What main() runs with besides argv and the environment. */
export interface MainOptions {
  readonly io?: CliIo;
  readonly cwd?: string;
  /** The command registry; tests and embedders may pass their own. */
  readonly commands?: readonly Command[];
  /** The default installation used when nothing else is chosen (tests pass their own). */
  readonly localHome?: string;
}

/**
 * Runs `slipway ARGV` and returns the exit code. The environment is read here and nowhere
 * else in the CLI: it becomes typed CliOptions (and, for local commands, the Config that
 * loadConfig builds from it).
 */
export async function main(
  argv: readonly string[],
  env: CliEnv,
  options: MainOptions = {},
): Promise<number> {
  const io = options.io ?? processIo();
  const commands = options.commands ?? builtinCommands;
  try {
    const { name, rest } = splitCommand(argv);
    if (name === undefined) return topLevel(rest, io, commands);
    const command = findCommand(commands, name);
    if (command === undefined) {
      const guess = closest(
        name,
        commands.map((c) => c.name),
      );
      throw new UsageError(
        `unknown command "${name}"${guess === undefined ? "" : `; did you mean "${guess}"?`}`,
      );
    }
    if (wantsHelp(rest)) {
      io.out(commandHelp(command));
      return EXIT_OK;
    }
    const parsed = parseCommandArgs(command.name, rest, command.flags, command.args);
    const home = typeof parsed.flags.home === "string" ? parsed.flags.home : undefined;
    const cliOptions = cliOptionsFrom(env, options.cwd ?? process.cwd(), home, options.localHome);
    let client: Promise<ApiClient> | undefined;
    const daemonEnv =
      cliOptions.home === undefined ? env : { ...env, SLIPWAY_HOME: cliOptions.home };
    const context: CommandContext = {
      options: cliOptions,
      io,
      json: parsed.flags.json === true,
      commands,
      client: () => (client ??= readCredentials(cliOptions).then((c) => ApiClient.connect(c))),
      config: (): Config => loadConfig(daemonEnv),
      daemonEnv,
    };
    return await command.run(context, parsed);
  } catch (error) {
    return report(error, io);
  }
}

/** `slipway` alone or with only global flags: help, or a usage error. */
function topLevel(rest: readonly string[], io: CliIo, commands: readonly Command[]): number {
  if (wantsHelp(rest)) {
    io.out(generalHelp(commands));
    return EXIT_OK;
  }
  if (rest.length > 0) throw new UsageError(`unknown flag ${rest[0] ?? ""}`);
  io.err(generalHelp(commands));
  return EXIT_USAGE;
}

function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/** Prints an error the way users need it and picks the exit code. */
function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    const more = error.command === undefined ? "slipway help" : `slipway ${error.command} --help`;
    io.err(`slipway: ${error.message}\nRun '${more}' for usage.\n`);
    return EXIT_USAGE;
  }
  if (error instanceof ApiError) {
    const details = error.problem?.errors ?? [];
    const listed = details.length > 1 ? details.map((line) => `  - ${line}\n`).join("") : "";
    io.err(`slipway: ${error.message}\n${listed}`);
    return EXIT_FAILURE;
  }
  if (error instanceof SlipwayError) {
    io.err(`slipway: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`slipway: unexpected error: ${message}\n`);
  return EXIT_FAILURE;
}

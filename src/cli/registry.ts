import type { Config } from "../config/config.ts";
import {
  GLOBAL_FLAGS,
  type ArgSpec,
  type ArgValues,
  type FlagSpecs,
  type FlagValues,
  type ParsedArgs,
} from "./args.ts";
import type { ApiClient } from "./client.ts";
import type { CliIo } from "./io.ts";
import type { CliOptions } from "./options.ts";

/** What a running command gets: options, I/O, and lazily its API client or config. */
export interface CommandContext {
  readonly options: CliOptions;
  readonly io: CliIo;
  /** --json: print machine-readable JSON on stdout instead of tables. */
  readonly json: boolean;
  /** A client of the API, from --home / SLIPWAY_HOME credentials or the login file. */
  client(): Promise<ApiClient>;
  /** The installation's configuration, for commands that act locally (up, down, ...). */
  config(): Config;
  /** The environment config() reads, with --home applied: what `up` hands the daemon. */
  readonly daemonEnv: Readonly<Record<string, string | undefined>>;
  /** Every registered command (for help). */
  readonly commands: readonly Command[];
}

/** The values a command's run() receives, typed from its flag and argument specs. */
export interface CommandInput<F extends FlagSpecs, A extends readonly ArgSpec[]> {
  readonly flags: FlagValues<F>;
  readonly args: ArgValues<A>;
}

/** How a command is written: specs plus a typed run(). Returns the exit code. */
export interface CommandSpec<F extends FlagSpecs, A extends readonly ArgSpec[]> {
  /** "apps", "apps:create", ...; groups share the part before the colon. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** More detail for `--help`, if the summary is not enough. */
  readonly description?: string;
  readonly args: A;
  readonly flags: F;
  readonly examples?: readonly string[];
  run(context: CommandContext, input: CommandInput<F, A>): Promise<number>;
}

/** A registered command, its types erased so commands of any shape fit one list. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly description: string | undefined;
  readonly args: readonly ArgSpec[];
  /** The command's own flags and the global ones. */
  readonly flags: FlagSpecs;
  readonly examples: readonly string[];
  run(context: CommandContext, parsed: ParsedArgs): Promise<number>;
}

/**
 * Declares a command. The registry (src/cli/commands/index.ts) lists them; a new command
 * group is a file exporting an array of defineCommand(...) results.
 */
export function defineCommand<const F extends FlagSpecs, const A extends readonly ArgSpec[]>(
  spec: CommandSpec<F, A>,
): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    description: spec.description,
    args: spec.args,
    flags: { ...spec.flags, ...GLOBAL_FLAGS },
    examples: spec.examples ?? [],
    run: (context, parsed) =>
      // parseCommandArgs checked parsed against these very specs, so the types hold.
      spec.run(context, parsed as unknown as CommandInput<F, A>),
  };
}

/** Finds a command by name. */
export function findCommand(commands: readonly Command[], name: string): Command | undefined {
  return commands.find((command) => command.name === name);
}

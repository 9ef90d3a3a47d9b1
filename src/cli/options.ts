import { join, resolve } from "node:path";

/** The environment as the CLI entry point receives it. */
export type CliEnv = Readonly<Record<string, string | undefined>>;

/** What the CLI takes from its environment, read once in the entry point and passed down. */
export interface CliOptions {
  /** Installation to talk to: --home, else SLIPWAY_HOME; undefined means use the login file. */
  readonly home: string | undefined;
  /** Where `slipway login` keeps its credentials: $XDG_CONFIG_HOME/slipway or ~/.config/slipway. */
  readonly configDir: string;
  /** Directory relative paths (deploy DIR, --ca FILE) are resolved against. */
  readonly cwd: string;
}

/** Builds the options from the environment; `home` (from --home) wins over SLIPWAY_HOME. */
export function cliOptionsFrom(env: CliEnv, cwd: string, home?: string): CliOptions {
  const chosenHome = home ?? nonEmpty(env.SLIPWAY_HOME);
  const configBase = nonEmpty(env.XDG_CONFIG_HOME) ?? join(env.HOME ?? cwd, ".config");
  return {
    home: chosenHome === undefined ? undefined : resolve(cwd, chosenHome),
    configDir: resolve(cwd, configBase, "slipway"),
    cwd,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

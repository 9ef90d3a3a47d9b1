import { join, resolve } from "node:path";
import { DEFAULT_HOME } from "../config/config.ts";

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
  /**
   * The installation on this machine used when neither --home, SLIPWAY_HOME nor a login
   * says otherwise: a default install (`npm start`) needs no login.
   */
  readonly localHome: string;
}

/** Builds the options from the environment; `home` (from --home) wins over SLIPWAY_HOME. */
export function cliOptionsFrom(
  env: CliEnv,
  cwd: string,
  home?: string,
  localHome: string = DEFAULT_HOME,
): CliOptions {
  const chosenHome = home ?? nonEmpty(env.SLIPWAY_HOME);
  const configBase = nonEmpty(env.XDG_CONFIG_HOME) ?? join(env.HOME ?? cwd, ".config");
  return {
    home: chosenHome === undefined ? undefined : resolve(cwd, chosenHome),
    configDir: resolve(cwd, configBase, "slipway"),
    cwd,
    localHome,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

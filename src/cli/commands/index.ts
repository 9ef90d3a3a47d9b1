import type { Command } from "../registry.ts";
import { appCommands } from "./apps.ts";
import { deployCommands } from "./deploy.ts";
import { domainCommands } from "./domains.ts";
import { metricsCommands } from "./metrics.ts";
import { gitCommands } from "./git.ts";
import { keyCommands } from "./keys.ts";
import { tokenCommands } from "./tokens.ts";
import { headerCommands } from "./headers.ts";
import { helpCommands } from "./help.ts";
import { localCommands } from "./local.ts";
import { loginCommands } from "./login.ts";
import { processCommands } from "./ps.ts";
import { doctorCommands } from "./doctor.ts";
import { releaseCommands } from "./releases.ts";
import { runtimeCommands } from "./runtime.ts";
import { buildCommands } from "./builds.ts";
import { configCommands } from "./config-vars.ts";

/**
 * Every command of `slipway`, in the order `slipway help` lists them. A command group is a
 * file exporting an array of defineCommand(...) results. Local commands (up, down,
 * stacks:build) act on this machine instead of through the API.
 */
export const builtinCommands: readonly Command[] = [
  ...localCommands,
  ...appCommands,
  ...deployCommands,
  ...gitCommands,
  ...keyCommands,
  ...tokenCommands,
  ...releaseCommands,
  ...buildCommands,
  ...configCommands,
  ...processCommands,
  ...runtimeCommands,
  ...doctorCommands,
  ...domainCommands,
  ...headerCommands,
  ...metricsCommands,
  ...loginCommands,
  ...helpCommands,
];

import type { Command } from "../registry.ts";
import { appCommands } from "./apps.ts";
import { deployCommands } from "./deploy.ts";
import { helpCommands } from "./help.ts";
import { localCommands } from "./local.ts";
import { loginCommands } from "./login.ts";
import { processCommands } from "./ps.ts";
import { releaseCommands } from "./releases.ts";

/**
 * Every command of `slipway`, in the order `slipway help` lists them. A command group is a
 * file exporting an array of defineCommand(...) results. Local commands (up, down,
 * stacks:build) act on this machine instead of through the API.
 */
export const builtinCommands: readonly Command[] = [
  ...localCommands,
  ...appCommands,
  ...deployCommands,
  ...releaseCommands,
  ...processCommands,
  ...loginCommands,
  ...helpCommands,
];

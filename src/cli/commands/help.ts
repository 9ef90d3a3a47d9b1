import { UsageError } from "../errors.ts";
import { commandHelp, generalHelp } from "../help-text.ts";
import { defineCommand, findCommand, type Command } from "../registry.ts";

const help = defineCommand({
  name: "help",
  summary: "show help for slipway or a command",
  args: [{ name: "COMMAND", optional: true, description: "the command to explain" }],
  flags: {},
  examples: ["slipway help deploy"],
  run(ctx, { args }) {
    if (args.COMMAND === undefined) {
      ctx.io.out(generalHelp(ctx.commands));
      return Promise.resolve(0);
    }
    const command = findCommand(ctx.commands, args.COMMAND);
    if (command === undefined) throw new UsageError(`unknown command "${args.COMMAND}"`);
    ctx.io.out(commandHelp(command));
    return Promise.resolve(0);
  },
});

/** help. */
export const helpCommands: readonly Command[] = [help];

import type { ArgSpec, FlagSpec } from "./args.ts";
import type { Command } from "./registry.ts";

/** `slipway help`: every command by group, and the global flags. */
export function generalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    "Usage: slipway COMMAND [ARGS] [FLAGS]",
    "",
    "Slipway: deploy and run apps on your own servers.",
    "",
    "Commands:",
    ...lines,
    "",
    "Global flags:",
    "  --home DIR  use the installation at DIR (default: $SLIPWAY_HOME, else the login file)",
    "  --json      print machine-readable JSON",
    "  -h, --help  show help",
    "",
    "Run 'slipway COMMAND --help' for more about a command.",
    "",
  ].join("\n");
}

/** `slipway COMMAND --help`: usage, arguments, flags and examples. */
export function commandHelp(command: Command): string {
  const args = command.args.map(usageOfArg).join(" ");
  const flagLines = Object.entries(command.flags).map(([name, spec]) => flagLine(name, spec));
  const flagWidth = Math.max(...flagLines.map(([usage]) => usage.length));
  const sections = [
    `Usage: slipway ${command.name}${args === "" ? "" : ` ${args}`} [FLAGS]`,
    "",
    command.description ?? command.summary,
  ];
  if (command.args.length > 0) {
    const argWidth = Math.max(...command.args.map((arg) => arg.name.length));
    sections.push(
      "",
      "Arguments:",
      ...command.args.map((arg) => `  ${arg.name.padEnd(argWidth)}  ${arg.description}`),
    );
  }
  sections.push(
    "",
    "Flags:",
    ...flagLines.map(([usage, text]) => `  ${usage.padEnd(flagWidth)}  ${text}`),
  );
  if (command.examples.length > 0) {
    sections.push("", "Examples:", ...command.examples.map((example) => `  ${example}`));
  }
  return `${sections.join("\n")}\n`;
}

function usageOfArg(arg: ArgSpec): string {
  return arg.optional === true ? `[${arg.name}]` : arg.name;
}

function flagLine(name: string, spec: FlagSpec): [string, string] {
  const short = spec.short === undefined ? "" : `-${spec.short}, `;
  const value = spec.type === "string" ? ` ${spec.placeholder ?? "VALUE"}` : "";
  const required = spec.required === true ? " (required)" : "";
  return [`${short}--${name}${value}`, `${spec.description}${required}`];
}

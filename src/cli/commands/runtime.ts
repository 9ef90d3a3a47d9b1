import type { OneOffInfo } from "../../api/runtime-deps.ts";
import { EXIT_TRAILER } from "../../api/runtime-deps.ts";
import type { RuntimeSettings } from "../../domain/app-settings.ts";
import type { Formation } from "../../domain/formation.ts";
import { parseScaleArgs } from "../../domain/scale.ts";
import type { ContainerSize } from "../../domain/sizes.ts";
import { splitVariadic } from "../args.ts";
import { UsageError } from "../errors.ts";
import { formatBytes, keyValues, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";
import { runInteractive } from "./run-interactive.ts";

const sizes = defineCommand({
  name: "sizes",
  summary: "list the container sizes `slipway scale` accepts",
  args: [],
  flags: {},
  examples: ["slipway sizes"],
  async run(ctx) {
    const { items } = await (await ctx.client()).get<Items<ContainerSize>>("/v1/sizes");
    if (ctx.json) ctx.io.out(toJson(items));
    else
      ctx.io.out(
        table(items, [
          { header: "size", value: (s) => s.name },
          { header: "memory", value: (s) => formatBytes(s.memoryBytes), align: "right" },
          { header: "cpus", value: (s) => String(s.cpus), align: "right" },
          { header: "pids", value: (s) => String(s.pids), align: "right" },
          { header: "tmp", value: (s) => formatBytes(s.tmpBytes), align: "right" },
        ]),
      );
    return 0;
  },
});

function formationTable(items: readonly Formation[]): string {
  return table(items, [
    { header: "type", value: (f) => f.type },
    { header: "quantity", value: (f) => String(f.quantity), align: "right" },
    { header: "size", value: (f) => f.size },
  ]);
}

const scale = defineCommand({
  name: "scale",
  summary: "set how many containers of each process type run, and their size",
  description:
    "Each change is TYPE=QUANTITY, TYPE=QUANTITY:SIZE or TYPE:SIZE. Without changes, shows the formation. Containers are replaced in rolling batches; see `slipway sizes`.",
  args: [{ name: "CHANGES", optional: true, variadic: true, description: "web=3:M worker=1 ..." }],
  flags: { app: APP_FLAG },
  examples: ["slipway scale web=3:M worker=1 --app shop", "slipway scale web=0 --app shop"],
  async run(ctx, { flags, args }) {
    const client = await ctx.client();
    const raw = splitVariadic(args.CHANGES);
    if (raw.length === 0) {
      const { items } = await client.get<Items<Formation>>(appPath(flags.app, "/formation"));
      ctx.io.out(ctx.json ? toJson(items) : formationTable(items));
      return 0;
    }
    let changes;
    try {
      changes = parseScaleArgs(raw);
    } catch (error) {
      throw new UsageError((error as Error).message, "scale");
    }
    const { items } = await client.post<Items<Formation>>(appPath(flags.app, "/scale"), {
      changes,
    });
    if (ctx.json) ctx.io.out(toJson(items));
    else {
      ctx.io.err(`Scaling ${flags.app}; follow it with: slipway ps --app ${flags.app}\n`);
      ctx.io.out(formationTable(items));
    }
    return 0;
  },
});

const restart = defineCommand({
  name: "restart",
  summary: "replace an app's containers (all, or one process type), rolling",
  args: [{ name: "TYPE", optional: true, description: "only this process type (web, worker...)" }],
  flags: { app: APP_FLAG },
  examples: ["slipway restart --app shop", "slipway restart web --app shop"],
  async run(ctx, { flags, args }) {
    const answer = await (
      await ctx.client()
    ).post<{ type: string | null; requestedAt: string }>(
      appPath(flags.app, "/restart"),
      args.TYPE === undefined ? {} : { type: args.TYPE },
    );
    if (ctx.json) ctx.io.out(toJson(answer));
    else
      ctx.io.out(
        `Restarting ${args.TYPE ?? "all processes"} of ${flags.app}, a batch at a time; follow it with: slipway ps --app ${flags.app}\n`,
      );
    return 0;
  },
});

function settingsText(s: RuntimeSettings): string {
  return keyValues([
    [
      "Health check",
      s.healthcheckPath === null ? "TCP connect on PORT" : `GET ${s.healthcheckPath}`,
    ],
    ["Boot timeout", `${String(s.bootTimeoutSeconds)} s`],
    ["Stop grace", `${String(s.stopGraceSeconds)} s`],
    ["Max quantity", String(s.maxQuantity)],
  ]);
}

const healthcheckSet = defineCommand({
  name: "healthcheck:set",
  summary: "check an HTTP path (2xx/3xx) before a container gets traffic",
  description: 'Use "tcp" to go back to the default check (the port accepts connections).',
  args: [{ name: "PATH", description: '"/health", or "tcp" for the default check' }],
  flags: { app: APP_FLAG },
  examples: [
    "slipway healthcheck:set /health --app shop",
    "slipway healthcheck:set tcp --app shop",
  ],
  async run(ctx, { flags, args }) {
    const path = args.PATH === "tcp" ? "" : args.PATH;
    const settings = await (
      await ctx.client()
    ).post<RuntimeSettings>(appPath(flags.app, "/runtime"), { healthcheckPath: path });
    ctx.io.out(ctx.json ? toJson(settings) : settingsText(settings));
    return 0;
  },
});

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`--${flag} needs a whole number of seconds`, "runtime:set");
  return Number(value);
}

const runtimeSet = defineCommand({
  name: "runtime",
  summary: "show or change an app's runtime settings (timeouts, limits, health check)",
  args: [],
  flags: {
    app: APP_FLAG,
    "boot-timeout": {
      type: "string",
      placeholder: "SECONDS",
      description: "time a new release has to pass its checks (default 60)",
    },
    "stop-grace": {
      type: "string",
      placeholder: "SECONDS",
      description: "SIGTERM to SIGKILL (default 30)",
    },
    "max-quantity": {
      type: "string",
      placeholder: "N",
      description: "largest quantity per process type (default 20)",
    },
  },
  examples: ["slipway runtime --app shop", "slipway runtime --app shop --stop-grace 5"],
  async run(ctx, { flags }) {
    const client = await ctx.client();
    const body = {
      ...optionalNumber("bootTimeoutSeconds", seconds(flags["boot-timeout"], "boot-timeout")),
      ...optionalNumber("stopGraceSeconds", seconds(flags["stop-grace"], "stop-grace")),
      ...optionalNumber("maxQuantity", seconds(flags["max-quantity"], "max-quantity")),
    };
    const settings =
      Object.keys(body).length === 0
        ? await client.get<RuntimeSettings>(appPath(flags.app, "/runtime"))
        : await client.post<RuntimeSettings>(appPath(flags.app, "/runtime"), body);
    ctx.io.out(ctx.json ? toJson(settings) : settingsText(settings));
    return 0;
  },
});

function optionalNumber(key: string, value: number | undefined): Record<string, number> {
  return value === undefined ? {} : { [key]: value };
}

const logs = defineCommand({
  name: "logs",
  summary: "show an app's output, router access log and platform events, in time order",
  description:
    "Each line is `TIME SOURCE: TEXT`: SOURCE is the container (TYPE.vRELEASE-ID, run.ID for one-offs), `router` for the access log, or `slipway` for platform events. --tail takes the last N lines of the merged log.",
  args: [],
  flags: {
    app: APP_FLAG,
    tail: {
      type: "string",
      short: "n",
      placeholder: "N",
      description: "lines from the end (default 100)",
    },
    follow: { type: "boolean", short: "f", description: "keep printing new lines" },
    type: {
      type: "string",
      placeholder: "TYPE",
      description: "only this process type, or `router` for the access log",
    },
  },
  examples: [
    "slipway logs --app shop --tail 20",
    "slipway logs --app shop -f --type web",
    "slipway logs --app shop --type router",
  ],
  async run(ctx, { flags }) {
    if (flags.tail !== undefined && !/^\d+$/.test(flags.tail))
      throw new UsageError("--tail needs a number", "logs");
    const query = new URLSearchParams();
    if (flags.tail !== undefined) query.set("tail", flags.tail);
    if (flags.follow) query.set("follow", "1");
    if (flags.type !== undefined) query.set("type", flags.type);
    const path = appPath(flags.app, `/logs${query.size > 0 ? `?${query.toString()}` : ""}`);
    for await (const line of (await ctx.client()).lines(path)) {
      ctx.io.out(ctx.json ? `${JSON.stringify({ line })}\n` : `${line}\n`);
    }
    return 0;
  },
});

/** argv words to one shell command: a single word is taken as written (it may be a script). */
export function shellCommand(words: readonly string[]): string {
  if (words.length === 1) return words[0] ?? "";
  return words
    .map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

const run = defineCommand({
  name: "run",
  summary: "run a command in a one-off container of the current release",
  description:
    "The container has the app's config, network and isolation. Its output streams back and `slipway run` exits with the command's exit code. From a terminal the command is interactive: it gets a terminal of your window's size and your keystrokes (a shell: `slipway run --app shop -- bash`); --no-tty, --json or a pipe turn that off.",
  args: [{ name: "COMMAND", variadic: true, description: "the command (after --)" }],
  flags: {
    app: APP_FLAG,
    "no-tty": { type: "boolean", description: "stream the output even from a terminal" },
  },
  examples: [
    "slipway run --app shop -- node -e 'console.log(1)'",
    'slipway run --app shop -- "ls /app"',
    "slipway run --app shop -- bash",
  ],
  async run(ctx, { flags, args }) {
    const command = shellCommand(splitVariadic(args.COMMAND));
    if (command.trim() === "") throw new UsageError("missing COMMAND", "run");
    const client = await ctx.client();
    const { terminal } = ctx.io;
    if (terminal !== undefined && !ctx.json && !flags["no-tty"])
      return runInteractive(client, flags.app, command, terminal);
    const info = await client.post<OneOffInfo>(appPath(flags.app, "/one-offs"), { command });
    if (!ctx.json) ctx.io.err(`Running ${command} in ${info.name}\n`);
    let code: number | undefined;
    const output: string[] = [];
    for await (const line of client.lines(appPath(flags.app, `/one-offs/${info.id}/output`))) {
      if (line.startsWith(EXIT_TRAILER)) {
        code = Number(line.slice(EXIT_TRAILER.length));
        continue;
      }
      if (ctx.json) output.push(line);
      else ctx.io.out(`${line}\n`);
    }
    if (code === undefined || !Number.isInteger(code)) {
      ctx.io.err("The output stream ended before the command did; its exit code is unknown.\n");
      return 1;
    }
    if (ctx.json) ctx.io.out(toJson({ container: info.name, exitCode: code, output }));
    return Math.min(255, Math.max(0, code));
  },
});

/** sizes, scale, restart, healthcheck:set, runtime, logs, run. */
export const runtimeCommands: readonly Command[] = [
  sizes,
  scale,
  restart,
  healthcheckSet,
  runtimeSet,
  logs,
  run,
];

import type { Release } from "../../domain/release.ts";
import type { AppEvent } from "../../store/store.ts";
import { parseAssignments, validateConfigVarName } from "../../domain/config-vars.ts";
import { UsageError } from "../errors.ts";
import { formatTime, table, toJson } from "../format.ts";
import type { CommandContext } from "../registry.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";
import { outcomeMessage, waitForRelease } from "./release-wait.ts";

/** Up to this many NAME=VALUE (or NAME) arguments per call. */
const MORE = [2, 3, 4, 5, 6, 7, 8].map((n) => ({
  name: `VAR${String(n)}`,
  description: "more of the same",
  optional: true,
})) as readonly { name: `VAR${number}`; description: string; optional: true }[];

const env = defineCommand({
  name: "env",
  summary: "show an app's config vars",
  description:
    "Show the app's config vars (names and values; they are stored encrypted and never logged). With --json: an object of NAME to value.",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway env --app shop"],
  async run(ctx, { flags }) {
    const { vars } = await (
      await ctx.client()
    ).get<{ vars: Record<string, string> }>(appPath(flags.app, "/config"));
    if (ctx.json) ctx.io.out(toJson(vars));
    else if (Object.keys(vars).length === 0) ctx.io.out(`${flags.app} has no config vars.\n`);
    else {
      const names = Object.keys(vars).sort();
      const width = Math.max(...names.map((n) => n.length));
      ctx.io.out(names.map((n) => `${`${n}:`.padEnd(width + 2)}${vars[n] ?? ""}\n`).join(""));
    }
    return 0;
  },
});

const set = defineCommand({
  name: "env:set",
  summary: "set config vars and roll the app",
  description:
    "Set one or more config vars (NAME=VALUE). This makes a new release from the same image and rolls the app's containers; it waits until the release serves.",
  args: [{ name: "VAR", description: "NAME=VALUE" }, ...MORE],
  flags: { app: APP_FLAG },
  examples: ["slipway env:set GREETING=Hi DEBUG=1 --app shop"],
  async run(ctx, { flags, args }) {
    const pairs = parseAssignments(positionals(args));
    return change(ctx, flags.app, { set: pairs, unset: [] });
  },
});

const unset = defineCommand({
  name: "env:unset",
  summary: "remove config vars and roll the app",
  args: [{ name: "VAR", description: "NAME" }, ...MORE],
  flags: { app: APP_FLAG },
  examples: ["slipway env:unset DEBUG --app shop"],
  async run(ctx, { flags, args }) {
    const names = positionals(args);
    for (const name of names) validateConfigVarName(name);
    return change(ctx, flags.app, { set: {}, unset: names });
  },
});

const rollback = defineCommand({
  name: "rollback",
  summary: "release an earlier version again, without a build",
  description:
    "Make a new release from vN's image, process types and config vars, and roll it out (seconds: nothing is built). Images of the newest releases are kept (SLIPWAY_KEEP_RELEASES, default 10).",
  args: [{ name: "VERSION", description: "the release to go back to: vN or N" }],
  flags: { app: APP_FLAG },
  examples: ["slipway rollback v3 --app shop"],
  async run(ctx, { flags, args }) {
    const match = /^v?(\d{1,9})$/.exec(args.VERSION);
    if (match?.[1] === undefined)
      throw new UsageError(`expected a version like v3, got "${args.VERSION}"`, "rollback");
    const client = await ctx.client();
    const release = await client.post<Release>(appPath(flags.app, "/rollbacks"), {
      version: Number(match[1]),
    });
    return rollOut(ctx, flags.app, release, `Rolled back ${flags.app} to ${args.VERSION}`);
  },
});

const events = defineCommand({
  name: "events",
  summary: "what happened to an app: builds, releases, containers",
  args: [],
  flags: {
    app: APP_FLAG,
    limit: { type: "string", placeholder: "N", description: "how many (default 100)" },
  },
  examples: ["slipway events --app shop", "slipway events --app shop --limit 20 --json"],
  async run(ctx, { flags }) {
    const limit = flags.limit ?? "100";
    if (!/^\d{1,4}$/.test(limit)) throw new UsageError("--limit takes a number", "events");
    const { items } = await (
      await ctx.client()
    ).get<Items<AppEvent>>(appPath(flags.app, `/events?limit=${limit}`));
    if (ctx.json) ctx.io.out(toJson(items));
    else if (items.length === 0) ctx.io.out(`No events for ${flags.app} yet.\n`);
    else {
      ctx.io.out(
        table([...items].reverse(), [
          { header: "time", value: (e) => formatTime(e.createdAt) },
          { header: "type", value: (e) => e.type },
          { header: "message", value: (e) => e.message },
        ]),
      );
    }
    return 0;
  },
});

function positionals(args: Readonly<Record<string, string | undefined>>): string[] {
  return Object.values(args).filter((v): v is string => v !== undefined);
}

async function change(
  ctx: CommandContext,
  app: string,
  body: { set: Record<string, string>; unset: string[] },
): Promise<number> {
  const client = await ctx.client();
  const answer = await client.post<{ release: Release | null }>(appPath(app, "/config"), body);
  const names = [...Object.keys(body.set), ...body.unset].join(", ");
  const verb = body.unset.length > 0 ? "Unset" : "Set";
  if (answer.release === null) {
    if (ctx.json) ctx.io.out(toJson(answer));
    else ctx.io.out(`${verb} ${names}; it applies from the next deploy.\n`);
    return 0;
  }
  return rollOut(ctx, app, answer.release, `${verb} ${names}`);
}

async function rollOut(
  ctx: CommandContext,
  app: string,
  release: Release,
  what: string,
): Promise<number> {
  if (!ctx.json) ctx.io.out(`${what}: releasing v${String(release.version)}\n`);
  const outcome = await waitForRelease(await ctx.client(), app, release.version);
  if (ctx.json) ctx.io.out(toJson({ release, outcome: outcome.kind }));
  if (outcome.kind === "serving") {
    if (!ctx.json) ctx.io.out(`${outcomeMessage(app, release.version, outcome)}\n`);
    return 0;
  }
  ctx.io.err(`${outcomeMessage(app, release.version, outcome)}\n`);
  return 1;
}

/** env, env:set, env:unset, rollback, events. */
export const configCommands: readonly Command[] = [env, set, unset, rollback, events];

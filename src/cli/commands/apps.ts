import type { ProcessInfo } from "../../api/deps.ts";
import type { App } from "../../domain/app.ts";
import type { Release } from "../../domain/release.ts";
import { UsageError } from "../errors.ts";
import { formatTime, keyValues, shortDigest, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { appPath, type Items } from "./common.ts";
import { processTable } from "./ps.ts";

const list = defineCommand({
  name: "apps",
  summary: "list apps",
  args: [],
  flags: {},
  async run(ctx) {
    const { items } = await (await ctx.client()).get<Items<App>>("/v1/apps");
    if (ctx.json) ctx.io.out(toJson(items));
    else if (items.length === 0)
      ctx.io.out("No apps yet. Create one with: slipway apps:create NAME\n");
    else {
      ctx.io.out(
        table(items, [
          { header: "name", value: (app) => app.name },
          { header: "created", value: (app) => formatTime(app.createdAt) },
        ]),
      );
    }
    return 0;
  },
});

const create = defineCommand({
  name: "apps:create",
  summary: "create an app",
  description:
    "Create an app. Names are 3-30 lowercase letters, digits and single dashes, starting with a letter; they become the app's host name.",
  args: [{ name: "NAME", description: "the new app's name" }],
  flags: {},
  examples: ["slipway apps:create shop"],
  async run(ctx, { args }) {
    const app = await (await ctx.client()).post<App>("/v1/apps", { name: args.NAME });
    ctx.io.out(
      ctx.json
        ? toJson(app)
        : `Created ${app.name}. Deploy it with: slipway deploy --app ${app.name}\n`,
    );
    return 0;
  },
});

const destroy = defineCommand({
  name: "apps:destroy",
  summary: "destroy an app and everything it owns",
  description:
    "Destroy an app: its containers, routes, releases, builds and logs. This cannot be undone, so it asks for the name again (--confirm NAME) or --yes.",
  args: [{ name: "NAME", description: "the app to destroy" }],
  flags: {
    confirm: {
      type: "string",
      placeholder: "NAME",
      description: "the app's name again, to confirm",
    },
    yes: { type: "boolean", description: "destroy without confirming by name" },
  },
  examples: ["slipway apps:destroy shop --confirm shop"],
  async run(ctx, { args, flags }) {
    if (flags.confirm === undefined && !flags.yes) {
      throw new UsageError(
        `destroying ${args.NAME} deletes it for good; confirm with --confirm ${args.NAME} (or --yes)`,
        "apps:destroy",
      );
    }
    if (flags.confirm !== undefined && flags.confirm !== args.NAME) {
      throw new UsageError(
        `--confirm ${flags.confirm} does not match the app ${args.NAME}`,
        "apps:destroy",
      );
    }
    await (await ctx.client()).delete(appPath(args.NAME));
    ctx.io.out(
      ctx.json ? toJson({ name: args.NAME, destroyed: true }) : `Destroyed ${args.NAME}\n`,
    );
    return 0;
  },
});

const info = defineCommand({
  name: "apps:info",
  summary: "show an app, its current release and processes",
  args: [{ name: "NAME", description: "the app" }],
  flags: {},
  async run(ctx, { args }) {
    const client = await ctx.client();
    const [app, releases, processes] = await Promise.all([
      client.get<App>(appPath(args.NAME)),
      client.get<Items<Release>>(appPath(args.NAME, "/releases")),
      client.get<Items<ProcessInfo>>(appPath(args.NAME, "/ps")),
    ]);
    const release = releases.items[0] ?? null;
    if (ctx.json) {
      ctx.io.out(toJson({ app, release, processes: processes.items }));
      return 0;
    }
    const running = processes.items.filter((process) => process.state === "running").length;
    ctx.io.out(
      keyValues([
        ["Name", app.name],
        ["Id", app.id],
        ["Created", formatTime(app.createdAt)],
        [
          "Release",
          release === null ? "none yet" : `v${release.version} (${formatTime(release.createdAt)})`,
        ],
        ...(release === null
          ? []
          : ([
              ["Image", shortDigest(release.imageDigest)],
              ["Stack", release.stack],
              ["Buildpacks", release.buildpacks.join(", ") || "-"],
            ] as const)),
        ["Processes", `${running} running of ${processes.items.length}`],
      ]),
    );
    if (processes.items.length > 0) ctx.io.out(`\n${processTable(processes.items)}`);
    return 0;
  },
});

/** apps, apps:create, apps:destroy, apps:info. */
export const appCommands: readonly Command[] = [list, create, destroy, info];

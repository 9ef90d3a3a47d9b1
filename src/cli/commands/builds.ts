import { toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath } from "./common.ts";

const cacheClear = defineCommand({
  name: "builds:cache:clear",
  summary: "empty an app's build cache: the next build downloads and compiles everything",
  description:
    "Removes the app's build cache (downloaded toolchains, package caches, compiled dependencies). Use it when a build misbehaves because of what it cached. The cache belongs to this app alone; running apps are not affected.",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway builds:cache:clear --app shop"],
  async run(ctx, { flags }) {
    await (await ctx.client()).delete(appPath(flags.app, "/build-cache"));
    if (ctx.json) ctx.io.out(toJson({ app: flags.app, cacheCleared: true }));
    else ctx.io.out(`Cleared the build cache of ${flags.app}\n`);
    return 0;
  },
});

/** builds:cache:clear. */
export const buildCommands: readonly Command[] = [cacheClear];

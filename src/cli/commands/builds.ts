import type { Build } from "../../domain/build.ts";
import { UsageError } from "../errors.ts";
import { formatTime, shortDigest, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";

const builds = defineCommand({
  name: "builds",
  summary: "list an app's builds, newest first",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway builds --app shop"],
  async run(ctx, { flags }) {
    const { items } = await (await ctx.client()).get<Items<Build>>(appPath(flags.app, "/builds"));
    if (ctx.json) ctx.io.out(toJson(items));
    else if (items.length === 0) ctx.io.out(`${flags.app} has no builds yet\n`);
    else
      ctx.io.out(
        table(items, [
          { header: "id", value: (b) => b.id },
          { header: "created", value: (b) => formatTime(b.createdAt) },
          { header: "status", value: (b) => b.status },
          {
            header: "source",
            value: (b) => b.sourceCommit?.slice(0, 10) ?? shortDigest(b.sourceChecksum),
          },
          { header: "by", value: (b) => b.createdBy ?? "-" },
          { header: "error", value: (b) => b.error ?? "" },
        ]),
      );
    return 0;
  },
});

const buildLog = defineCommand({
  name: "builds:log",
  summary: "print a build's log (the newest build's without BUILD)",
  description:
    "Build logs are kept per build: 8 MiB in full, then the last 200 lines; they go with the app.",
  args: [{ name: "BUILD", optional: true, description: "a build id from `slipway builds`" }],
  flags: {
    app: APP_FLAG,
    follow: { type: "boolean", short: "f", description: "keep printing until the build ends" },
  },
  examples: ["slipway builds:log --app shop", "slipway builds:log bld_0123 --app shop -f"],
  async run(ctx, { flags, args }) {
    const client = await ctx.client();
    let id = args.BUILD;
    if (id === undefined) {
      const { items } = await client.get<Items<Build>>(appPath(flags.app, "/builds"));
      id = items[0]?.id;
      if (id === undefined) throw new UsageError(`${flags.app} has no builds yet`, "builds:log");
    }
    const path = appPath(
      flags.app,
      `/builds/${encodeURIComponent(id)}/log${flags.follow ? "?follow=1" : ""}`,
    );
    for await (const line of client.lines(path)) {
      ctx.io.out(ctx.json ? `${JSON.stringify({ line })}\n` : `${line}\n`);
    }
    return 0;
  },
});

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

/** builds, builds:log, builds:cache:clear. */
export const buildCommands: readonly Command[] = [builds, buildLog, cacheClear];

import { isAbsolute, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Build } from "../../domain/build.ts";
import type { Release } from "../../domain/release.ts";
import type { ApiClient } from "../client.ts";
import { ConnectionError } from "../errors.ts";
import { toJson } from "../format.ts";
import { packSource } from "../pack/pack-source.ts";
import { uploadProgress } from "../progress.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";
import { outcomeMessage, waitForRelease } from "./release-wait.ts";

/** How long to wait for a build to be marked finished after its log ended. */
const SETTLE_TIMEOUT_MS = 60_000;
const SETTLE_INTERVAL_MS = 500;
/** The platform's boot timeout (60 s) plus time to start, route and drain. */
const ROLLOUT_TIMEOUT_MS = 120_000;

const deploy = defineCommand({
  name: "deploy",
  summary: "build and release an app from a directory",
  description: [
    "Pack DIR (default: the current directory) into a tar.gz, leaving out .git and",
    "node_modules, upload it, follow the build log, and wait until the new release serves.",
    "Exits with 1 if the build fails or the release does not start (the old one keeps serving).",
    "With --json the log goes to stderr and stdout gets the final build and release.",
  ].join("\n"),
  args: [{ name: "DIR", optional: true, description: "source directory (default: .)" }],
  flags: { app: APP_FLAG },
  examples: ["slipway deploy --app shop", "slipway deploy ./web --app shop --json"],
  async run(ctx, { args, flags }) {
    const dir = resolve(ctx.options.cwd, args.DIR ?? ".");
    const client = await ctx.client();
    const log = (text: string): void => {
      if (ctx.json) ctx.io.err(text);
      else ctx.io.out(text);
    };

    const source = await packSource(dir, (skipped) => {
      ctx.io.err(`warning: left out ${skipped.path}: ${skipped.reason}\n`);
    });
    const progress = uploadProgress(ctx.io, displayPath(ctx.options.cwd, dir));
    let sent = 0;
    const build = await client.upload<Build>(
      appPath(flags.app, "/builds"),
      source,
      "application/gzip",
      (bytes) => {
        sent = bytes;
        progress.update(bytes);
      },
    );
    progress.done(sent);
    ctx.io.err(`Build ${build.id} started\n`);

    for await (const line of client.lines(appPath(flags.app, `/builds/${build.id}/log?follow=1`))) {
      log(`${line}\n`);
    }
    const finished = await settled(client, appPath(flags.app, `/builds/${build.id}`));
    const release = await releaseOf(client, flags.app, finished);

    if (ctx.json) ctx.io.out(toJson({ build: finished, release }));
    if (finished.status === "failed") {
      ctx.io.err(`Build failed: ${finished.error ?? "see the log above"}\n`);
      return 1;
    }
    if (release === null) {
      if (!ctx.json) ctx.io.out("Build succeeded\n");
      return 0;
    }
    if (!ctx.json)
      ctx.io.out(`Released ${flags.app} v${String(release.version)}; rolling it out\n`);
    const outcome = await waitForRelease(client, flags.app, release.version);
    if (outcome.kind === "failed") {
      ctx.io.err(`${outcomeMessage(flags.app, release.version, outcome)}\n`);
      return 1;
    }
    const serving = outcome.kind === "serving";
    if (!serving) {
      ctx.io.err(
        `v${String(release.version)} is not serving after ${String(ROLLOUT_TIMEOUT_MS / 1000)} s; the previous release keeps serving. See: slipway ps --app ${flags.app}\n`,
      );
      return 1;
    }
    if (!ctx.json) ctx.io.out(`v${String(release.version)} is serving\n`);
    return 0;
  },
});

/**
 * The build once it is finished. The log normally ends when the build does, but if the
 * stream was cut (a daemon restart), poll a little before giving up.
 */
async function settled(client: ApiClient, path: string): Promise<Build> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const build = await client.get<Build>(path);
    if (build.status === "succeeded" || build.status === "failed") return build;
    if (Date.now() > deadline) {
      throw new ConnectionError(
        `the build log ended but build ${build.id} is still ${build.status}`,
      );
    }
    await sleep(SETTLE_INTERVAL_MS);
  }
}

async function releaseOf(client: ApiClient, app: string, build: Build): Promise<Release | null> {
  if (build.releaseId === null) return null;
  const { items } = await client.get<Items<Release>>(appPath(app, "/releases"));
  return items.find((release) => release.id === build.releaseId) ?? null;
}

/** dir relative to cwd when it is inside it ("." for cwd itself), else absolute. */
function displayPath(cwd: string, dir: string): string {
  const rel = relative(cwd, dir);
  if (rel === "") return ".";
  return rel.startsWith("..") || isAbsolute(rel) ? dir : rel;
}

/** deploy. */
export const deployCommands: readonly Command[] = [deploy];

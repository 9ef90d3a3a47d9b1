import type { Release } from "../../domain/release.ts";
import { formatTime, shortDigest, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";

const releases = defineCommand({
  name: "releases",
  summary: "list an app's releases, newest first",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway releases --app shop"],
  async run(ctx, { flags }) {
    const { items } = await (
      await ctx.client()
    ).get<Items<Release>>(appPath(flags.app, "/releases"));
    if (ctx.json) ctx.io.out(toJson(items));
    else if (items.length === 0)
      ctx.io.out(
        `${flags.app} has no releases yet. Deploy with: slipway deploy --app ${flags.app}\n`,
      );
    else {
      ctx.io.out(
        table(items, [
          { header: "version", value: (r) => `v${r.version}`, align: "right" },
          { header: "created", value: (r) => formatTime(r.createdAt) },
          { header: "status", value: (r) => r.status ?? "succeeded" },
          { header: "image", value: (r) => shortDigest(r.imageDigest) },
          { header: "source", value: (r) => shortSource(r.source ?? null) },
          { header: "buildpacks", value: (r) => r.buildpacks.join(",") || "-" },
          { header: "stack", value: (r) => r.stack },
          { header: "by", value: (r) => r.deployedBy ?? "-" },
          { header: "description", value: (r) => r.description },
        ]),
      );
    }
    return 0;
  },
});

/** releases. */
export const releaseCommands: readonly Command[] = [releases];

/** A checksum or commit, short: "sha256:0123abcd" or the first 10 hex digits of a commit. */
function shortSource(source: string | null): string {
  if (source === null) return "-";
  return source.startsWith("sha256:") ? shortDigest(source) : source.slice(0, 10);
}

import type { ProcessInfo } from "../../api/deps.ts";
import { formatTime, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";

/** The processes of an app as a table. */
export function processTable(processes: readonly ProcessInfo[]): string {
  return table(processes, [
    { header: "type", value: (p) => p.type },
    { header: "id", value: (p) => p.id.slice(0, 12) },
    { header: "release", value: (p) => `v${p.release}`, align: "right" },
    { header: "state", value: (p) => p.state },
    { header: "started", value: (p) => formatTime(p.startedAt) },
    { header: "address", value: (p) => p.address ?? "-" },
  ]);
}

const ps = defineCommand({
  name: "ps",
  summary: "list an app's processes",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway ps --app shop"],
  async run(ctx, { flags }) {
    const { items } = await (await ctx.client()).get<Items<ProcessInfo>>(appPath(flags.app, "/ps"));
    if (ctx.json) ctx.io.out(toJson(items));
    else if (items.length === 0) ctx.io.out(`No processes of ${flags.app} are running.\n`);
    else ctx.io.out(processTable(items));
    return 0;
  },
});

/** ps. */
export const processCommands: readonly Command[] = [ps];

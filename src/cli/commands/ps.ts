import type { ProcessInfo } from "../../api/deps.ts";
import { formatBytes, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";

/** The processes of an app as a table. */
export function processTable(processes: readonly ProcessInfo[], now = Date.now()): string {
  return table(processes, [
    { header: "type", value: (p) => p.type },
    { header: "id", value: (p) => (p.id === "" ? "-" : p.id.slice(0, 12)) },
    { header: "release", value: (p) => (p.release === 0 ? "-" : `v${p.release}`), align: "right" },
    { header: "size", value: (p) => p.size ?? "-" },
    { header: "state", value: (p) => stateText(p) },
    { header: "uptime", value: (p) => uptime(p, now), align: "right" },
    { header: "restarts", value: (p) => String(p.restarts ?? 0), align: "right" },
    {
      header: "cpu",
      value: (p) => (p.cpuPercent == null ? "-" : `${p.cpuPercent.toFixed(1)}%`),
      align: "right",
    },
    {
      header: "memory",
      value: (p) =>
        p.memoryBytes == null
          ? "-"
          : `${formatBytes(p.memoryBytes)}${p.memoryLimitBytes ? ` / ${formatBytes(p.memoryLimitBytes)}` : ""}`,
      align: "right",
    },
    { header: "address", value: (p) => p.address ?? "-" },
  ]);
}

function stateText(p: ProcessInfo): string {
  const waiting = p.unresponsive === true ? "unresponsive" : "starting";
  const base = p.state === "running" && !p.ready ? waiting : p.state;
  return p.crashLoop === true && p.state !== "crash-loop" ? `${base} (crash-loop)` : base;
}

/** 45s, 12m, 3h, 2d since the container started. */
function uptime(p: ProcessInfo, now: number): string {
  if (p.state !== "running" || p.startedAt === null) return "-";
  const s = Math.max(0, Math.floor((now - Date.parse(p.startedAt)) / 1000));
  if (s < 60) return `${String(s)}s`;
  if (s < 3600) return `${String(Math.floor(s / 60))}m`;
  if (s < 86400) return `${String(Math.floor(s / 3600))}h`;
  return `${String(Math.floor(s / 86400))}d`;
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

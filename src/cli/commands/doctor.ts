import type { ContainerAudit } from "../../security/audit/container-audit.ts";
import { table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";

interface AuditAnswer extends Items<ContainerAudit> {
  readonly failed: number;
}

/** The audit of one container as a table: item, standard, result, reason. */
export function auditTable(audit: ContainerAudit): string {
  return table(audit.items, [
    { header: "item", value: (i) => i.id },
    { header: "standard", value: (i) => i.standard },
    { header: "result", value: (i) => i.status.toUpperCase() },
    { header: "check", value: (i) => i.title },
    { header: "reason", value: (i) => i.reason },
  ]);
}

const doctor = defineCommand({
  name: "doctor",
  summary: "audit an app's running containers against CIS Docker 5.x and PSS restricted",
  description:
    "Inspect every running container of the app and judge it against the CIS Docker Benchmark v1.6 section 5 container items, the Kubernetes Pod Security Standards \"restricted\" profile and Slipway's own baseline (user namespace, seccomp profile, no swap, noexec /tmp, no host paths). Each item passes, fails or is skipped when the engine's inspect cannot decide it. Exits 1 when any item failed.",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway doctor --app shop", "slipway doctor --app shop --json"],
  async run(ctx, { flags }) {
    const answer = await (await ctx.client()).get<AuditAnswer>(appPath(flags.app, "/audit"));
    if (ctx.json) {
      ctx.io.out(toJson(answer));
    } else if (answer.items.length === 0) {
      ctx.io.out(`No containers of ${flags.app} are running: nothing to audit.\n`);
    } else {
      for (const audit of answer.items) {
        ctx.io.out(`${audit.name} (${audit.id.slice(0, 12)})\n`);
        ctx.io.out(auditTable(audit));
        ctx.io.out(
          `${String(audit.passed)} passed, ${String(audit.failed)} failed, ${String(audit.skipped)} skipped\n\n`,
        );
      }
    }
    return answer.failed > 0 ? 1 : 0;
  },
});

/** doctor. */
export const doctorCommands: readonly Command[] = [doctor];

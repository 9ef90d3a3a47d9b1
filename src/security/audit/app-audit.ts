import { LABEL } from "../../domain/labels.ts";
import type { Engine } from "../../engine/engine.ts";
import { auditContainer, type AuditItem, type ContainerAudit } from "./container-audit.ts";

/**
 * Audits every running container of an app (app processes and one-offs: every container
 * labelled with the app's id) from the engine's inspect documents. Containers that stop
 * between the list and the inspect are skipped.
 */
export async function auditApp(engine: Engine, appId: string): Promise<ContainerAudit[]> {
  const containers = (await engine.listContainers({ [LABEL.appId]: appId })).filter(
    (c) => c.state === "running",
  );
  const audits = await Promise.all(
    containers.map(async (c) => {
      try {
        return auditContainer(await engine.rawInspect(c.id));
      } catch {
        return undefined; // gone meanwhile
      }
    }),
  );
  return audits
    .filter((a): a is ContainerAudit => a !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The failed items of one just-started container, for the check after every start (the
 * caller records them as an event). Never throws: an audit that cannot run is reported
 * as one failed item, since the baseline could not be confirmed.
 */
export async function auditStarted(engine: Engine, id: string): Promise<AuditItem[]> {
  try {
    return auditContainer(await engine.rawInspect(id)).items.filter((i) => i.status === "fail");
  } catch (error) {
    return [
      {
        id: "audit",
        standard: "Slipway",
        title: "The container could be inspected",
        status: "fail",
        reason: error instanceof Error ? error.message : String(error),
      },
    ];
  }
}

/** One line for an event: "5.12 root filesystem is writable; SW-swap ...". */
export function failureSummary(items: readonly AuditItem[]): string {
  return items.map((i) => `${i.id} ${i.reason}`).join("; ");
}

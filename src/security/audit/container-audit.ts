/**
 * The container audit behind `slipway doctor` and the check after every container start:
 * one running container's inspect document (the engine's compat answer, with Podman's
 * `HostConfig.IDMappings` and `EffectiveCaps` merged in by the driver's rawInspect) judged
 * against the CIS Docker Benchmark v1.6.0 section 5 (container runtime), the Kubernetes
 * Pod Security Standards "restricted" profile (as it maps onto one container) and
 * Slipway's own baseline (docs/security.md). Pure: no I/O, table-tested.
 *
 * An item the inspect document cannot decide (an sshd inside, how `exec` was called) is
 * "skip" with the reason, never a silent pass.
 */

import type { Rule } from "./checks.ts";
import { CIS_RULES } from "./cis-rules.ts";
import { view } from "./inspect-view.ts";
import { PSS_RULES } from "./pss-rules.ts";
import { SLIPWAY_RULES } from "./slipway-rules.ts";

export type AuditStatus = "pass" | "fail" | "skip";
export type AuditStandard = "CIS Docker 1.6" | "PSS restricted" | "Slipway";

export interface AuditItem {
  /** e.g. "5.12", "PSS-privilegeEscalation", "SW-userns" */
  readonly id: string;
  readonly standard: AuditStandard;
  readonly title: string;
  readonly status: AuditStatus;
  /** One line: why it passed, failed or could not be judged. */
  readonly reason: string;
}

export interface ContainerAudit {
  readonly id: string;
  readonly name: string;
  readonly items: readonly AuditItem[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

const RULES: readonly Rule[] = [...CIS_RULES, ...PSS_RULES, ...SLIPWAY_RULES];

/** Audits one container from its inspect document. */
export function auditContainer(inspect: unknown): ContainerAudit {
  const v = view(inspect);
  const items = RULES.map((rule): AuditItem => {
    const [status, reason] = rule.check(v);
    return { id: rule.id, standard: rule.standard, title: rule.title, status, reason };
  });
  return {
    id: v.id,
    name: v.name,
    items,
    passed: items.filter((i) => i.status === "pass").length,
    failed: items.filter((i) => i.status === "fail").length,
    skipped: items.filter((i) => i.status === "skip").length,
  };
}

/** The ids of every item the audit reports, in order (docs and tests list them). */
export const AUDIT_ITEM_IDS: readonly string[] = RULES.map((rule) => rule.id);

import type { AuditStandard, AuditStatus } from "./container-audit.ts";
import { isRootUser } from "../../domain/container-user.ts";
import { ALLOWED_CAPS, optValue, str, strings } from "./inspect-view.ts";
import type { View } from "./inspect-view.ts";

/** The building blocks of the audit's rules: verdicts and checks several standards share. */

export type Check = (v: View) => [AuditStatus, string];

export interface Rule {
  readonly id: string;
  readonly standard: AuditStandard;
  readonly title: string;
  readonly check: Check;
}

export const pass = (reason: string): [AuditStatus, string] => ["pass", reason];
export const fail = (reason: string): [AuditStatus, string] => ["fail", reason];
export const skip = (reason: string): [AuditStatus, string] => ["skip", reason];
export const ok = (good: boolean, yes: string, no: string): [AuditStatus, string] =>
  good ? pass(yes) : fail(no);

export const notHost =
  (field: string, what: string): Check =>
  (v) => {
    const mode = str(v.host[field]);
    return ok(mode !== "host", `${what} namespace is ${mode || "private"}`, `${field} is host`);
  };

export const capabilities: Check = (v) => {
  const added = strings(v.host.CapAdd).filter((c) => !ALLOWED_CAPS.has(c.toUpperCase()));
  if (added.length > 0) return fail(`adds ${added.join(", ")}`);
  if (v.effectiveCaps !== undefined) {
    const extra = v.effectiveCaps.filter((c) => !ALLOWED_CAPS.has(c.toUpperCase()));
    return ok(
      extra.length === 0,
      "no effective capabilities",
      `effective capabilities: ${extra.join(", ")}`,
    );
  }
  const dropped = strings(v.host.CapDrop).map((c) => c.toUpperCase());
  return ok(
    dropped.includes("ALL") || dropped.includes("CAP_ALL"),
    "all capabilities dropped",
    "capabilities are not all dropped",
  );
};

export const hostPaths: Check = (v) => {
  const binds = v.mounts.filter((m) => m.type === "bind");
  return ok(
    binds.length === 0,
    "no host paths mounted",
    `host paths mounted: ${binds.map((m) => m.source).join(", ")}`,
  );
};

export const seccompOn: Check = (v) => {
  const profile = optValue(v, "seccomp");
  if (profile === "unconfined") return fail("seccomp=unconfined");
  return pass(profile === undefined ? "the engine's default profile" : "a profile is set");
};

export const nonRoot: Check = (v) => {
  if (!isRootUser(v.user)) return pass(`runs as user ${v.user}`);
  if (v.rootHostUid !== undefined && v.rootHostUid !== 0) {
    // PSS skips runAsNonRoot/runAsUser for pods with hostUsers: false (user namespaces).
    return pass(`root inside is host uid ${String(v.rootHostUid)} (user namespace)`);
  }
  return fail("runs as root without a user namespace");
};

export const noPorts: Check = (v) =>
  ok(
    v.portBindings.length === 0,
    "no published ports (traffic comes through the router)",
    `publishes host ports ${v.portBindings.map((p) => p.hostPort).join(", ")}`,
  );

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Domain } from "../domain/domain-name.ts";
import { planCertificate, retryDelayMs } from "./certificates-plan.ts";

const now = new Date("2026-06-01T00:00:00Z");
const days = (n: number): string => new Date(now.getTime() + n * 86_400_000).toISOString();
const base: Domain = {
  hostname: "www.example.com",
  appId: "app_1",
  createdAt: days(-100),
  certSource: "acme",
  certStatus: "pending",
  certExpiresAt: null,
  certError: null,
  certAttempts: 0,
  certRetryAt: null,
};

describe("planCertificate", () => {
  it("issues a new ACME domain and leaves uploaded certificates alone", () => {
    assert.deepEqual(planCertificate(base, now, false), { kind: "issue", reason: "new" });
    assert.deepEqual(planCertificate({ ...base, certSource: "manual" }, now, false), {
      kind: "none",
    });
  });

  it("renews 30 days before expiry, not earlier", () => {
    const issued = { ...base, certStatus: "issued" as const };
    assert.deepEqual(planCertificate({ ...issued, certExpiresAt: days(29) }, now, true), {
      kind: "issue",
      reason: "renew",
    });
    assert.deepEqual(planCertificate({ ...issued, certExpiresAt: days(31) }, now, true), {
      kind: "wait",
      until: new Date(days(1)),
    });
    assert.deepEqual(planCertificate({ ...issued, certExpiresAt: days(80) }, now, false), {
      kind: "issue",
      reason: "missing",
    });
  });

  it("retries a failed order only after its back-off", () => {
    const failed = { ...base, certStatus: "failed" as const, certAttempts: 2 };
    assert.deepEqual(planCertificate({ ...failed, certRetryAt: days(1) }, now, false), {
      kind: "wait",
      until: new Date(days(1)),
    });
    assert.deepEqual(planCertificate({ ...failed, certRetryAt: days(-1) }, now, false), {
      kind: "issue",
      reason: "retry",
    });
  });

  it("backs off exponentially up to the maximum", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 10].map((n) => retryDelayMs(n, 60_000, 300_000)),
      [60_000, 120_000, 240_000, 300_000, 300_000],
    );
  });
});

import type { Domain } from "../domain/domain-name.ts";

/** How long before expiry an ACME certificate is renewed. */
export const RENEW_BEFORE_MS = 30 * 24 * 3600_000;

/** What the certificates controller should do about one domain now. */
export type CertAction =
  | { readonly kind: "none" }
  | { readonly kind: "wait"; readonly until: Date }
  | { readonly kind: "issue"; readonly reason: "new" | "renew" | "retry" | "missing" };

/**
 * Decides, purely, what a domain's certificate needs: uploaded ones are left alone; ACME
 * ones are issued when missing, renewed 30 days before expiry, and retried after a
 * failure once its back-off has passed.
 */
export function planCertificate(domain: Domain, now: Date, fileExists: boolean): CertAction {
  if (domain.certSource === "manual") return { kind: "none" };
  if (domain.certRetryAt !== null && Date.parse(domain.certRetryAt) > now.getTime()) {
    return { kind: "wait", until: new Date(domain.certRetryAt) };
  }
  if (domain.certStatus === "failed") return { kind: "issue", reason: "retry" };
  if (domain.certStatus === "pending" || domain.certExpiresAt === null) {
    return { kind: "issue", reason: "new" };
  }
  if (!fileExists) return { kind: "issue", reason: "missing" };
  const renewAt = Date.parse(domain.certExpiresAt) - RENEW_BEFORE_MS;
  if (renewAt <= now.getTime()) return { kind: "issue", reason: "renew" };
  return { kind: "wait", until: new Date(renewAt) };
}

/** Exponential back-off after `attempts` consecutive failures: base, 2x, 4x ... up to max. */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

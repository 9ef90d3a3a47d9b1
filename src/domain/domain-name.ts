import { ValidationError } from "./errors.ts";

/** A custom domain attached to an app, with the state of its certificate. */
export interface Domain {
  readonly hostname: string;
  readonly appId: string;
  readonly createdAt: string;
  /** Where the certificate comes from: ACME issuance, or uploaded with `certs:add`. */
  readonly certSource: CertSource;
  readonly certStatus: CertStatus;
  /** notAfter of the installed certificate (ISO-8601), null while there is none. */
  readonly certExpiresAt: string | null;
  /** Why the last issuance failed, null after a success. */
  readonly certError: string | null;
  /** Consecutive failed issuance attempts (drives the back-off). */
  readonly certAttempts: number;
  /** When the certificates controller may try again (ISO-8601), null when not waiting. */
  readonly certRetryAt: string | null;
}

export type CertSource = "acme" | "manual";
/** pending: none yet; issued: installed and valid; failed: last attempt failed. */
export type CertStatus = "pending" | "issued" | "failed";

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates a custom domain name: lower-case LDH labels (RFC 1123), at least two labels,
 * at most 253 characters, a non-numeric top-level label (no IP addresses), no wildcard,
 * no trailing dot. Upper case is folded. Nothing else can reach the router configuration.
 */
export function validateHostname(value: unknown): string {
  const bad = (why: string): ValidationError =>
    new ValidationError(`invalid domain name: ${why}`, [`domain: ${JSON.stringify(value)}`]);
  if (typeof value !== "string") throw bad("expected a string");
  const name = value.toLowerCase();
  if (name.length === 0 || name.length > 253) throw bad("must be 1-253 characters");
  const labels = name.split(".");
  if (labels.length < 2) throw bad("needs at least two labels, e.g. example.com");
  for (const label of labels) {
    if (!LABEL.test(label)) {
      throw bad("labels are 1-63 letters, digits and inner dashes, separated by single dots");
    }
  }
  if (/^[0-9]+$/.test(labels.at(-1) ?? "")) throw bad("an IP address is not a domain name");
  return name;
}

/** True when `hostname` is `domain` or below it (the platform's own names are reserved). */
export function isUnder(hostname: string, domain: string): boolean {
  return hostname === domain || hostname.endsWith(`.${domain}`);
}

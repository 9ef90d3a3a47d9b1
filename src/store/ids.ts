import { randomBytes } from "node:crypto";

/**
 * A new random id: a short kind prefix ("app", "bld", "rel", "tok") and 96 random bits in
 * hex. The prefix makes ids self-describing in logs and CLI output; randomness (rather than
 * a sequence) keeps ids unguessable and lets several stores mint them without coordination.
 */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("hex")}`;
}

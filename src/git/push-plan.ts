/**
 * What a push may do, decided from the ref updates git hands the proc-receive hook (one
 * "OLD NEW REFNAME" line each). Pure: the hook and the SSH shell call it; tests table it.
 */

/** The all-zero object name git uses for "no object" (a created or deleted ref). */
export const ZERO_SHA = "0".repeat(40);

/**
 * Branches whose push deploys an app that configured none, in preference order (an app may
 * configure its own: src/git/deploy-branch.ts).
 */
export const DEPLOY_BRANCHES: readonly string[] = ["main", "master"];

/** One ref update of a push. */
export interface RefUpdate {
  readonly oldSha: string;
  readonly newSha: string;
  readonly ref: string;
}

/** The verdict on a whole push: either refused (with reasons per ref) or what to deploy. */
export type PushPlan =
  | { readonly kind: "refuse"; readonly reasons: readonly string[] }
  | { readonly kind: "deploy"; readonly update: RefUpdate }
  | { readonly kind: "nothing" };

const SHA = /^[0-9a-f]{40}$/;

/** Parses "OLD NEW REF" lines; throws RangeError on a line git would never write. */
export function parseRefUpdates(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const [oldSha, newSha, ref, ...rest] = line.trim().split(" ");
    if (
      oldSha === undefined ||
      newSha === undefined ||
      ref === undefined ||
      rest.length > 0 ||
      !SHA.test(oldSha) ||
      !SHA.test(newSha)
    ) {
      throw new RangeError(`malformed ref update line: ${JSON.stringify(line)}`);
    }
    updates.push({ oldSha, newSha, ref });
  }
  return updates;
}

/**
 * A push is all or nothing: every ref must be one of the app's deploy branches (by default
 * refs/heads/main or refs/heads/master), updated rather than deleted, and at most one of
 * them, because one push builds one release. Anything else is refused with a reason the
 * pusher sees.
 */
export function planPush(
  updates: readonly RefUpdate[],
  branches: readonly string[] = DEPLOY_BRANCHES,
): PushPlan {
  const reasons: string[] = [];
  const deploys: RefUpdate[] = [];
  const allowed = branches.map((b) => `refs/heads/${b}`).join(" or ");
  for (const update of updates) {
    const branch = update.ref.startsWith("refs/heads/")
      ? update.ref.slice("refs/heads/".length)
      : null;
    if (branch === null || !branches.includes(branch) || !isSafeRefName(update.ref)) {
      const name = branch ?? "REF";
      reasons.push(
        `${update.ref}: this app deploys only ${allowed}; push to one of them (try: git push slipway ${name}:${branches[0] ?? "main"})`,
      );
    } else if (update.newSha === ZERO_SHA) {
      reasons.push(`${update.ref}: deleting the deploy branch is not allowed`);
    } else {
      deploys.push(update);
    }
  }
  if (deploys.length > 1) {
    reasons.push(`push one deploy branch at a time (${branches.join(" or ")}, not several)`);
  }
  if (reasons.length > 0) return { kind: "refuse", reasons };
  const [update] = deploys;
  return update === undefined ? { kind: "nothing" } : { kind: "deploy", update };
}

/** Conservative ref-name check on top of git's own (no control characters, no "..", ...). */
export function isSafeRefName(ref: string): boolean {
  return (
    /^refs\/[A-Za-z0-9._/-]+$/.test(ref) &&
    !ref.includes("..") &&
    !ref.includes("//") &&
    !ref.endsWith("/") &&
    !ref.endsWith(".lock") &&
    !ref.split("/").some((part) => part.startsWith("."))
  );
}

import { ValidationError } from "../domain/errors.ts";
import { DEPLOY_BRANCHES, isSafeRefName } from "./push-plan.ts";

/**
 * The branches whose push deploys an app. Pure. By default main and master (as Heroku);
 * with a configured deploy branch, that branch and main (so `git push slipway
 * feature:main` keeps working); any other branch is refused.
 */

/** The app setting (src/store Store.getAppSettings) that holds the configured branch. */
export const DEPLOY_BRANCH_SETTING = "git.deployBranch";

/** Branches that deploy when nothing is configured, in preference order. */
export const DEFAULT_DEPLOY_BRANCHES: readonly string[] = DEPLOY_BRANCHES;

/** The deploy branches of an app whose setting is `configured` (undefined: the default). */
export function deployBranches(configured: string | undefined): readonly string[] {
  if (configured === undefined || configured === "") return DEFAULT_DEPLOY_BRANCHES;
  return configured === "main" ? ["main"] : ["main", configured];
}

/** A branch name a user may configure: a safe ref under refs/heads, at most 100 chars. */
export function validateBranchName(value: string): string {
  const name = value.replace(/^refs\/heads\//, "");
  if (name === "" || name.length > 100 || !isSafeRefName(`refs/heads/${name}`)) {
    throw new ValidationError(
      "invalid branch name: use letters, digits, '.', '_', '-' and '/' (no '..', no leading '.')",
      [`deployBranch: ${JSON.stringify(value)}`],
    );
  }
  return name;
}

/** Encodes the branches for the hooks' environment (one variable, comma-separated). */
export function encodeBranches(branches: readonly string[]): string {
  return branches.join(",");
}

/** Decodes the hooks' environment variable; the default when it is missing or empty. */
export function decodeBranches(value: string | undefined): readonly string[] {
  const branches = (value ?? "").split(",").filter((branch) => branch !== "");
  return branches.length === 0 ? DEFAULT_DEPLOY_BRANCHES : branches;
}

import type { TokenRecord } from "../store/store.ts";

/**
 * Who may do what. A token is a principal with a role; a deploy token is also limited to
 * a set of apps. Pure: the API's middleware, the git remote and the SSH endpoint all ask
 * here, so one table decides. Later, users own tokens and role bindings (user, role, app
 * or every app) replace the role on the token; the checks keep this shape.
 */

/** admin: everything. deploy: push, deploy and read its own apps; nothing else. */
export type Role = "admin" | "deploy";

export const ROLES: readonly Role[] = ["admin", "deploy"];

/** What a request does to an app. */
export type AppAction =
  /** See the app: builds, releases, logs, processes, events (not its config vars). */
  | "read"
  /** Change what runs: tarball or git deploys, rollbacks, restarts. */
  | "deploy";

/** The authenticated caller, as the permission checks see it. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  /** null: the token has no role this version knows (it may do nothing). */
  readonly role: Role | null;
  /** App ids a deploy token is limited to. */
  readonly appIds: readonly string[];
}

/** The principal of a token (its first known role wins; admin before deploy). */
export function principalOf(
  token: Pick<TokenRecord, "id" | "name" | "scopes" | "apps">,
): Principal {
  const role = ROLES.find((candidate) => token.scopes.includes(candidate)) ?? null;
  return { tokenId: token.id, name: token.name, role, appIds: token.apps };
}

/**
 * The app actions of a role on the apps it is bound to (admins: every app). A future
 * read-only role is one more line here.
 */
const APP_ACTIONS: Readonly<Record<Role, readonly AppAction[]>> = {
  admin: ["read", "deploy"],
  deploy: ["read", "deploy"],
};

/** True when principal may do action on the app with this id. */
export function mayOnApp(principal: Principal, appId: string, action: AppAction): boolean {
  if (principal.role === null || !APP_ACTIONS[principal.role].includes(action)) return false;
  return principal.role === "admin" || principal.appIds.includes(appId);
}

/** True for platform-wide administration (apps, tokens, domains, settings, config vars). */
export function isAdmin(principal: Principal): boolean {
  return principal.role === "admin";
}

/** Why a principal was refused, for a 403 and a `remote:` line. */
export function refusal(principal: Principal, what: string): string {
  if (principal.role === null) return `token "${principal.name}" has no role: it may not ${what}`;
  return principal.role === "deploy"
    ? `token "${principal.name}" is a deploy token limited to its apps: it may not ${what}`
    : `token "${principal.name}" may not ${what}`;
}

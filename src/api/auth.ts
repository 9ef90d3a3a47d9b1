import type { MiddlewareHandler } from "hono";
import { ForbiddenError, UnauthorizedError } from "../domain/errors.ts";
import { isAdmin, mayOnApp, principalOf, refusal } from "../security/permissions.ts";
import { findLiveToken } from "../security/tokens.ts";
import type { Store } from "../store/store.ts";
import { accessRule } from "./access-policy.ts";
import type { ApiEnv } from "./context.ts";

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Bearer-token authentication. The secret is hashed and looked up by hash, so the store
 * never sees it and lookup time says nothing about how close a guess was; the stored hash
 * is compared again in constant time. Revoked tokens are refused. Every failure is the
 * same 401 so responses do not tell tokens apart. With `scope`, a token without it gets
 * 403 (e.g. "admin" for /metrics); without, authorization is left to {@link authorize}.
 */
export function bearerAuth(store: Store, scope?: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const match = BEARER.exec(c.req.header("authorization") ?? "");
    const secret = match?.[1];
    const token = secret === undefined ? undefined : await findLiveToken(store, secret);
    if (token === undefined) throw new UnauthorizedError();
    if (scope !== undefined && !token.scopes.includes(scope)) {
      throw new ForbiddenError(`token "${token.name}" lacks the "${scope}" scope`);
    }
    c.set("token", token);
    c.set("principal", principalOf(token));
    await next();
  };
}

/**
 * Authorization of /v1 requests, after {@link bearerAuth}: admins pass; a deploy token may
 * use only the routes src/api/access-policy.ts opens to it, and app routes only for its own
 * apps. A refusal is a 403 problem saying which token and what it may not do; an app the
 * token may not see gets the same 403 whether it exists or not.
 */
export function authorize(store: Pick<Store, "getApp">): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (isAdmin(principal)) {
      await next();
      return;
    }
    if (principal.role === null) {
      throw new ForbiddenError(
        `token "${principal.name}" has no role (admin or deploy): it may not use the API`,
      );
    }
    const path = new URL(c.req.url).pathname.replace(/^\/v1/, "");
    const rule = accessRule(c.req.method, path);
    switch (rule.kind) {
      case "admin":
        throw new ForbiddenError(refusal(principal, `${c.req.method} /v1${path} (admins only)`));
      case "any":
        break;
      case "app": {
        const app = await store.getApp(rule.app);
        if (app === undefined || !mayOnApp(principal, app.id, rule.action)) {
          throw new ForbiddenError(refusal(principal, `${rule.action} app "${rule.app}"`));
        }
        break;
      }
    }
    await next();
  };
}

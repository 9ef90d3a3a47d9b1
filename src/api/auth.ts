import type { MiddlewareHandler } from "hono";
import { ForbiddenError, UnauthorizedError } from "../domain/errors.ts";
import { hashesEqual, hashToken, isTokenShaped } from "../security/tokens.ts";
import type { Store } from "../store/store.ts";
import type { ApiEnv } from "./context.ts";

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Bearer-token authentication. The secret is hashed and looked up by hash, so the store
 * never sees it and lookup time says nothing about how close a guess was; the stored hash
 * is compared again in constant time. Revoked tokens and tokens without `scope` are
 * refused. Every failure is the same 401 so responses do not tell tokens apart.
 */
export function bearerAuth(store: Store, scope: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const match = BEARER.exec(c.req.header("authorization") ?? "");
    const secret = match?.[1];
    if (secret === undefined || !isTokenShaped(secret)) throw new UnauthorizedError();
    const hash = hashToken(secret);
    const token = await store.findTokenByHash(hash);
    if (token === undefined || !hashesEqual(token.hash, hash) || token.revokedAt !== null) {
      throw new UnauthorizedError();
    }
    if (!token.scopes.includes(scope)) {
      throw new ForbiddenError(`token "${token.name}" lacks the "${scope}" scope`);
    }
    c.set("token", token);
    await next();
  };
}

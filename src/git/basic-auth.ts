import { UnauthorizedError } from "../domain/errors.ts";
import { findLiveToken } from "../security/tokens.ts";
import type { Store, TokenRecord } from "../store/store.ts";

const BASIC = /^Basic +([A-Za-z0-9+/=]+) *$/i;

/** The password of an HTTP Basic Authorization header, or undefined if there is none. */
export function basicPassword(header: string | undefined | null): string | undefined {
  const match = BASIC.exec(header ?? "");
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * Git's HTTP authentication: Basic with any user name and an API token as the password
 * (git has no bearer support). Checked like the API's bearer tokens: hashed lookup,
 * constant-time compare, revoked tokens refused, one 401 for every bad credential. What
 * the token may do with the repository is decided afterwards (src/git/git-access.ts).
 */
export async function authenticateBasic(
  store: Pick<Store, "findTokenByHash">,
  header: string | undefined | null,
): Promise<TokenRecord> {
  const secret = basicPassword(header);
  if (secret === undefined) {
    throw new UnauthorizedError(
      "authentication required: use an API token as the password (slipway git:remote sets this up)",
    );
  }
  const token = await findLiveToken(store, secret);
  if (token === undefined) throw new UnauthorizedError("invalid API token");
  return token;
}

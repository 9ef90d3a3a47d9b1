import type { Principal } from "../security/permissions.ts";
import type { TokenRecord } from "../store/store.ts";
import type { ApiBindings } from "./upgrade.ts";

/** Hono environment of the API: what middleware puts on the context for handlers. */
export interface ApiEnv {
  /** Present on upgrade requests only (src/api/upgrade.ts). */
  Bindings: ApiBindings;
  Variables: {
    /** The token that authenticated the request (set by the auth middleware). */
    token: TokenRecord;
    /** Who the token is and what it may do (src/security/permissions.ts). */
    principal: Principal;
  };
}

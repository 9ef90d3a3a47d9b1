import type { TokenRecord } from "../store/store.ts";

/** Hono environment of the API: what middleware puts on the context for handlers. */
export interface ApiEnv {
  Variables: {
    /** The token that authenticated the request (set by the auth middleware). */
    token: TokenRecord;
  };
}

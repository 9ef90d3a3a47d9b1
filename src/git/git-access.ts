import type { App } from "../domain/app.ts";
import { ForbiddenError, NotFoundError } from "../domain/errors.ts";
import { isAdmin, mayOnApp, refusal, type Principal } from "../security/permissions.ts";
import type { Store } from "../store/store.ts";
import type { GitService } from "./pkt-line.ts";

/**
 * The app a git request (HTTP or SSH) may use: a push needs "deploy" on it, a fetch
 * "read". Admins get NotFoundError for a missing app; anyone else the same ForbiddenError
 * for a missing app as for another's, so a scoped token cannot probe for app names.
 */
export async function gitApp(
  store: Pick<Store, "getApp">,
  principal: Principal,
  appName: string,
  service: GitService,
): Promise<App> {
  const app = await store.getApp(appName);
  const action = service === "git-receive-pack" ? "deploy" : "read";
  if (app === undefined && isAdmin(principal)) throw new NotFoundError("app", appName);
  if (app === undefined || !mayOnApp(principal, app.id, action)) {
    throw new ForbiddenError(
      refusal(principal, `${action === "deploy" ? "push to" : "fetch"} app "${appName}"`),
    );
  }
  return app;
}

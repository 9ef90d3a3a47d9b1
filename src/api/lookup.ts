import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import { NotFoundError } from "../domain/errors.ts";
import type { Store } from "../store/store.ts";

/** The app named in the path, or NotFoundError (404). */
export async function findApp(store: Store, name: string): Promise<App> {
  const app = await store.getApp(name);
  if (app === undefined) throw new NotFoundError("app", name);
  return app;
}

/** A build of app, or NotFoundError: another app's build id is as absent as a wrong one. */
export async function findBuild(store: Store, app: App, id: string): Promise<Build> {
  const build = await store.getBuild(id);
  if (build?.appId !== app.id) throw new NotFoundError("build", id);
  return build;
}

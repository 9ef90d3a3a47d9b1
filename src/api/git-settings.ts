import { Hono } from "hono";
import { DEPLOY_BRANCH_SETTING, deployBranches, validateBranchName } from "../git/deploy-branch.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { parseObject, parseQuery, readJsonBody, string } from "./validate.ts";

const setBody = { deployBranch: string({ maxLength: 200 }) };

/**
 * /v1/apps/:name/git: the app's deploy branch. GET answers `{ deployBranch, branches }`
 * (null: the default, main or master); POST `{ "deployBranch": "production" }` sets it
 * ("" goes back to the default). Reading is open to the app's deploy tokens, setting is
 * for admins (src/api/access-policy.ts).
 */
export function gitSettingsRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  const view = async (appId: string) => {
    const configured = (await deps.store.getAppSettings(appId))[DEPLOY_BRANCH_SETTING];
    return { deployBranch: configured ?? null, branches: deployBranches(configured) };
  };

  routes.get("/apps/:name/git", async (c) => {
    parseQuery({}, c.req.url);
    const app = await findApp(deps.store, c.req.param("name"));
    return c.json(await view(app.id));
  });

  routes.post("/apps/:name/git", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    const body = parseObject(setBody, await readJsonBody(c.req.raw));
    const branch = body.deployBranch === "" ? null : validateBranchName(body.deployBranch);
    await deps.store.setAppSetting(app.id, DEPLOY_BRANCH_SETTING, branch);
    await deps.store.addEvent(
      app.id,
      "git.branch",
      branch === null ? "deploy branch reset to main/master" : `deploy branch set to ${branch}`,
    );
    return c.json(await view(app.id));
  });

  return routes;
}

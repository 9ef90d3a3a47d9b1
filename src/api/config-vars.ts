import { Hono } from "hono";
import { ValidationError } from "../domain/errors.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import type { ConfigChange } from "./release-ops.ts";
import { findApp } from "./lookup.ts";
import { parseQuery, readJsonBody } from "./validate.ts";

/**
 * /v1/apps/:name/config: an app's config vars. GET shows them (admins see values, as on
 * Heroku; they are never logged or put in events); POST {"set": {...}, "unset": [...]}
 * changes them and answers with the new release that rolls them out (null before the
 * first deploy or when nothing changed).
 */
export function configRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  routes.get("/apps/:name/config", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json({ vars: await deps.configVars(app) });
  });

  routes.post("/apps/:name/config", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const change = parseChange(await readJsonBody(c.req.raw));
    const release = await deps.changeConfig(app, change, c.get("token").name);
    return c.json({
      release,
      set: Object.keys(change.set),
      unset: change.unset,
    });
  });

  return routes;
}

/** {"set": {NAME: "value"}, "unset": ["NAME"]}; at least one change, no name in both. */
export function parseChange(body: unknown): ConfigChange {
  const problems: string[] = [];
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("request body must be a JSON object");
  }
  const { set = {}, unset = [], ...rest } = body as Record<string, unknown>;
  for (const key of Object.keys(rest)) problems.push(`${key}: unknown field`);
  const setVars: Record<string, string> = {};
  if (typeof set !== "object" || set === null || Array.isArray(set)) {
    problems.push("set: expected an object of strings");
  } else {
    for (const [name, value] of Object.entries(set)) {
      if (typeof value === "string") setVars[name] = value;
      else problems.push(`set.${name}: expected a string`);
    }
  }
  const unsetNames: string[] = [];
  if (!Array.isArray(unset)) problems.push("unset: expected an array of names");
  else {
    for (const name of unset as unknown[]) {
      if (typeof name === "string") unsetNames.push(name);
      else problems.push("unset: expected an array of names");
    }
  }
  for (const name of unsetNames) {
    if (Object.hasOwn(setVars, name)) problems.push(`${name}: both set and unset`);
  }
  if (problems.length === 0 && Object.keys(setVars).length + unsetNames.length === 0) {
    problems.push("nothing to change: give set or unset");
  }
  if (problems.length > 0) {
    throw new ValidationError(`invalid request body: ${problems.join("; ")}`, problems);
  }
  return { set: setVars, unset: unsetNames };
}

import { Hono } from "hono";
import { runtimeSettings, SETTING, validateHealthcheckPath } from "../domain/app-settings.ts";
import { NotFoundError, ValidationError } from "../domain/errors.ts";
import { applyScale, type ScaleChange } from "../domain/scale.ts";
import { SIZES } from "../domain/sizes.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { linesBody } from "./log-stream.ts";
import { findApp } from "./lookup.ts";
import { ROUTER_LOG_TYPE, type RuntimeDeps } from "./runtime-deps.ts";
import type { ApiBindings } from "./upgrade.ts";
import {
  flag,
  integer,
  optional,
  parseObject,
  parseQuery,
  readJsonBody,
  string,
} from "./validate.ts";

const changeShape = {
  type: string({ maxLength: 63 }),
  quantity: optional(integer()),
  size: optional(string({ maxLength: 8 })),
};
const restartBody = { type: optional(string({ maxLength: 63 })) };
const runtimeBody = {
  healthcheckPath: optional(string({ maxLength: 200 })),
  bootTimeoutSeconds: optional(integer({ min: 1, max: 3600 })),
  stopGraceSeconds: optional(integer({ min: 0, max: 3600 })),
  maxQuantity: optional(integer({ min: 1, max: 1000 })),
};
const runBody = {
  command: string({ maxLength: 8192 }),
  /** A terminal of this size: the one-off is interactive (attach to start it). */
  rows: optional(integer({ min: 1, max: 1000 })),
  cols: optional(integer({ min: 1, max: 1000 })),
};
const sizeBody = {
  rows: integer({ min: 1, max: 1000 }),
  cols: integer({ min: 1, max: 1000 }),
};
const logQuery = {
  tail: optional(numberQuery(1, 10_000)),
  follow: optional(flag()),
  type: optional(string({ maxLength: 63 })),
};

/**
 * Runtime endpoints: GET /v1/sizes; /v1/apps/:name/formation (GET) and /scale (POST);
 * /restart (POST); /runtime (GET, POST: health check path, boot timeout, stop grace,
 * quantity limit); /one-offs (POST, then GET /one-offs/:id/output); /logs (GET).
 */
export function runtimeRoutes(deps: ApiDeps, runtime: RuntimeDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  const { store } = deps;
  const settingsOf = async (appId: string) =>
    runtimeSettings(await store.getAppSettings(appId), runtime.defaults);

  routes.get("/sizes", (c) => {
    parseQuery({}, c.req.url);
    return c.json({ items: SIZES });
  });

  routes.get("/apps/:name/formation", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json({ items: await store.getFormation(app.id) });
  });

  routes.post("/apps/:name/scale", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const body = await readJsonBody(c.req.raw);
    const list = (body as { changes?: unknown } | null)?.changes;
    if (
      typeof body !== "object" ||
      body === null ||
      Object.keys(body).some((k) => k !== "changes") ||
      !Array.isArray(list) ||
      list.length === 0 ||
      list.length > 50
    ) {
      throw new ValidationError(
        'request body must be {"changes": [{"type", "quantity"?, "size"?}, ...]} with 1 to 50 changes',
      );
    }
    const changes: ScaleChange[] = list.map((item, i) => {
      const parsed = parseObject(changeShape, item, `changes[${String(i)}]`);
      return {
        type: parsed.type,
        ...(parsed.quantity === undefined ? {} : { quantity: parsed.quantity }),
        ...(parsed.size === undefined ? {} : { size: parsed.size }),
      };
    });
    const settings = await settingsOf(app.id);
    const rows = applyScale(
      app.id,
      await store.currentRelease(app.id),
      await store.getFormation(app.id),
      changes,
      settings.maxQuantity,
    );
    for (const row of rows) await store.setFormation(row);
    await store.addEvent(
      app.id,
      "scale",
      rows.map((r) => `${r.type}=${String(r.quantity)}:${r.size}`).join(" "),
    );
    return c.json({ items: await store.getFormation(app.id) });
  });

  routes.post("/apps/:name/restart", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const { type } = parseObject(restartBody, await readJsonBody(c.req.raw));
    if (type !== undefined) {
      const formation = await store.getFormation(app.id);
      if (!formation.some((f) => f.type === type)) {
        throw new ValidationError(
          `unknown process type "${type}": the formation has ${formation.map((f) => f.type).join(", ") || "none"}`,
        );
      }
    }
    const at = new Date().toISOString();
    await store.setAppSetting(app.id, `${SETTING.restartPrefix}${type ?? "*"}`, at);
    await store.addEvent(app.id, "restart", `restart of ${type ?? "all processes"} requested`);
    return c.json({ type: type ?? null, requestedAt: at }, 202);
  });

  routes.get("/apps/:name/runtime", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json(await settingsOf(app.id));
  });

  routes.post("/apps/:name/runtime", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const body = parseObject(runtimeBody, await readJsonBody(c.req.raw));
    // "" clears the path: back to the TCP check.
    if (body.healthcheckPath !== undefined && body.healthcheckPath !== "")
      validateHealthcheckPath(body.healthcheckPath);
    const updates: [string, string | null][] = [];
    if (body.healthcheckPath !== undefined)
      updates.push([
        SETTING.healthcheckPath,
        body.healthcheckPath === "" ? null : body.healthcheckPath,
      ]);
    if (body.bootTimeoutSeconds !== undefined)
      updates.push([SETTING.bootTimeout, String(body.bootTimeoutSeconds)]);
    if (body.stopGraceSeconds !== undefined)
      updates.push([SETTING.stopGrace, String(body.stopGraceSeconds)]);
    if (body.maxQuantity !== undefined)
      updates.push([SETTING.maxQuantity, String(body.maxQuantity)]);
    for (const [key, value] of updates) await store.setAppSetting(app.id, key, value);
    if (updates.length > 0) {
      await store.addEvent(
        app.id,
        "runtime",
        updates.map(([k, v]) => `${k}=${v ?? "(default)"}`).join(" "),
      );
    }
    return c.json(await settingsOf(app.id));
  });

  routes.post("/apps/:name/one-offs", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const { command, rows, cols } = parseObject(runBody, await readJsonBody(c.req.raw));
    if (command.trim() === "") throw new ValidationError("command is empty");
    if ((rows === undefined) !== (cols === undefined))
      throw new ValidationError("give both rows and cols for a terminal, or neither");
    const terminal = rows !== undefined && cols !== undefined ? { rows, cols } : undefined;
    const info = await runtime.runOneOff(app, command, terminal);
    return c.json(info, 201);
  });

  // An interactive one-off's terminal: the connection switches to a raw stream (101).
  routes.post("/apps/:name/one-offs/:id/attach", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    // Undefined env: a test's app.request() without bindings.
    const upgrade = (c.env as ApiBindings | undefined)?.upgrade;
    if (upgrade === undefined)
      throw new ValidationError(
        "attaching needs a connection upgrade (Connection: Upgrade, Upgrade: tcp)",
      );
    upgrade.accept(await runtime.attachOneOff(app, c.req.param("id")));
    return c.body(null, 204);
  });

  routes.post("/apps/:name/one-offs/:id/resize", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const size = parseObject(sizeBody, await readJsonBody(c.req.raw));
    await runtime.resizeOneOff(app, c.req.param("id"), size);
    return c.body(null, 204);
  });

  routes.get("/apps/:name/one-offs/:id/exit", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const exitCode = await runtime.oneOffExit(app, c.req.param("id"), c.req.raw.signal);
    return c.json({ exitCode });
  });

  routes.get("/apps/:name/one-offs/:id/output", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const controller = new AbortController();
    const body = await linesBody(
      runtime.oneOffOutput(app, c.req.param("id"), controller.signal),
      () => {
        controller.abort();
      },
    );
    return c.body(body, 200, { "Content-Type": "text/plain; charset=utf-8" });
  });

  routes.get("/apps/:name/logs", async (c) => {
    const app = await findApp(store, c.req.param("name"));
    const query = parseQuery(logQuery, c.req.url);
    if (
      query.type !== undefined &&
      query.type !== ROUTER_LOG_TYPE &&
      !(await store.getFormation(app.id)).some((f) => f.type === query.type)
    )
      throw new NotFoundError("process", query.type);
    const controller = new AbortController();
    const lines = runtime.appLogs(app, {
      tail: query.tail ?? 100,
      follow: query.follow ?? false,
      type: query.type,
      signal: controller.signal,
    });
    const body = await linesBody(lines, () => {
      controller.abort();
    });
    return c.body(body, 200, { "Content-Type": "text/plain; charset=utf-8" });
  });

  return routes;
}

/** A query number within [min, max]. */
function numberQuery(min: number, max: number): ReturnType<typeof integer> {
  const inner = integer({ min, max });
  return {
    optional: false,
    check: (value) =>
      typeof value === "string" && /^\d{1,6}$/.test(value)
        ? inner.check(Number(value))
        : { ok: false, message: `expected a number from ${String(min)} to ${String(max)}` },
  };
}

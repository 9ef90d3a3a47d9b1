import { Hono } from "hono";
import { ConflictError, NotFoundError, ValidationError } from "../domain/errors.ts";
import { ROLES, type Role } from "../security/permissions.ts";
import { generateToken, hashToken } from "../security/tokens.ts";
import { newId } from "../store/ids.ts";
import type { Store, TokenRecord } from "../store/store.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { optional, parseObject, parseQuery, readJsonBody, string, type Field } from "./validate.ts";

/** A token as the API shows it: never its hash, its apps by name. */
export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly role: Role | null;
  /** Names of the apps a deploy token is limited to (empty for admins: every app). */
  readonly apps: readonly string[];
  readonly createdBy: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MAX_APPS = 100;

const appNames: Field<string[]> = {
  optional: false,
  check(value) {
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      return { ok: false, message: "expected an array of app names" };
    }
    if (value.length > MAX_APPS) return { ok: false, message: `at most ${MAX_APPS} apps` };
    return { ok: true, value: [...new Set(value)] };
  },
};

const createBody = {
  name: optional(string({ maxLength: 63 })),
  role: optional(string({ maxLength: 20 })),
  apps: optional(appNames),
};

/**
 * /v1/tokens (admins only, by src/api/access-policy.ts): create a token (its secret is in
 * the answer once and never again: only its sha256 is stored), list, revoke. A deploy
 * token names the apps it may push, deploy and read; an admin token may do everything.
 */
export function tokenRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  const { store } = deps;

  routes.get("/tokens", async (c) => {
    parseQuery({}, c.req.url);
    const names = await appNamesById(store);
    return c.json({ items: (await store.listTokens()).map((t) => tokenView(t, names)) });
  });

  routes.post("/tokens", async (c) => {
    const body = parseObject(createBody, await readJsonBody(c.req.raw));
    const role = parseRole(body.role ?? "deploy");
    const apps = body.apps ?? [];
    if (role === "deploy" && apps.length === 0) {
      throw new ValidationError("a deploy token needs at least one app", ["apps: []"]);
    }
    if (role === "admin" && apps.length > 0) {
      throw new ValidationError("an admin token may use every app: give no apps", [
        `apps: ${JSON.stringify(apps)}`,
      ]);
    }
    const appIds: string[] = [];
    for (const name of apps) {
      const app = await store.getApp(name);
      if (app === undefined) throw new NotFoundError("app", name);
      appIds.push(app.id);
    }
    const id = newId("tok");
    const name = body.name ?? `${role}-${id.slice(-8)}`;
    if (!TOKEN_NAME.test(name)) {
      throw new ValidationError(
        "invalid token name: use up to 63 letters, digits, dots, dashes and underscores",
        [`name: ${JSON.stringify(name)}`],
      );
    }
    const secret = generateToken();
    const record = await store.createToken({
      id,
      name,
      hash: hashToken(secret),
      scopes: [role],
      apps: appIds,
      createdBy: c.get("token").name,
    });
    c.header("Location", `/v1/tokens/${record.id}`);
    return c.json({ ...tokenView(record, await appNamesById(store)), token: secret }, 201);
  });

  routes.delete("/tokens/:id", async (c) => {
    const id = c.req.param("id");
    const token = (await store.getToken(id)) ?? (await findByName(store, id));
    if (token === undefined) throw new NotFoundError("token", id);
    if (token.revokedAt === null && token.scopes.includes("admin")) {
      const liveAdmins = (await store.listTokens()).filter(
        (t) => t.revokedAt === null && t.scopes.includes("admin"),
      );
      if (liveAdmins.length <= 1) {
        throw new ConflictError(
          `token "${token.name}" is the last admin token: create another admin token first`,
        );
      }
    }
    await store.revokeToken(token.id);
    return c.body(null, 204);
  });

  return routes;
}

function parseRole(value: string): Role {
  const role = ROLES.find((candidate) => candidate === value);
  if (role === undefined) {
    throw new ValidationError(`unknown role: use ${ROLES.join(" or ")}`, [
      `role: ${JSON.stringify(value)}`,
    ]);
  }
  return role;
}

async function appNamesById(store: Store): Promise<Map<string, string>> {
  return new Map((await store.listApps()).map((app) => [app.id, app.name]));
}

async function findByName(store: Store, name: string): Promise<TokenRecord | undefined> {
  return (await store.listTokens()).find((token) => token.name === name);
}

/** The public view of a token record. */
export function tokenView(token: TokenRecord, appNames: ReadonlyMap<string, string>): TokenView {
  return {
    id: token.id,
    name: token.name,
    role: ROLES.find((role) => token.scopes.includes(role)) ?? null,
    apps: token.apps.map((id) => appNames.get(id) ?? id).sort(),
    createdBy: token.createdBy,
    createdAt: token.createdAt,
    revokedAt: token.revokedAt,
  };
}

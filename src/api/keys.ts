import { Hono } from "hono";
import { NotFoundError } from "../domain/errors.ts";
import { parseSshPublicKey } from "../git/ssh-key.ts";
import { isAdmin } from "../security/permissions.ts";
import { newId } from "../store/ids.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { optional, parseObject, parseQuery, readJsonBody, string } from "./validate.ts";

const addKeyBody = {
  publicKey: string({ maxLength: 16_384 }),
  name: optional(string({ maxLength: 100 })),
};

/** /v1/keys: SSH public keys that may push over git+ssh (list, add, remove). */
export function keyRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  // Admins see and remove every key; a deploy token only the keys it added, which may push
  // to its apps only (src/git/git-server.ts acts as the key's token).
  routes.get("/keys", async (c) => {
    parseQuery({}, c.req.url);
    const principal = c.get("principal");
    const keys = await deps.store.listSshKeys();
    return c.json({
      items: isAdmin(principal) ? keys : keys.filter((k) => k.tokenId === principal.tokenId),
    });
  });

  routes.post("/keys", async (c) => {
    const body = parseObject(addKeyBody, await readJsonBody(c.req.raw));
    const key = parseSshPublicKey(body.publicKey);
    const record = await deps.store.addSshKey({
      id: newId("key"),
      name: body.name ?? (key.comment === "" ? key.type : key.comment),
      fingerprint: key.fingerprint,
      publicKey: key.publicKey,
      createdBy: c.get("token").name,
      tokenId: c.get("token").id,
    });
    c.header("Location", `/v1/keys/${record.id}`);
    return c.json(record, 201);
  });

  routes.delete("/keys/:id", async (c) => {
    const id = c.req.param("id");
    // A fingerprint works as well as the id: it is what `ssh-keygen -lf` shows.
    const key = (await deps.store.getSshKey(id)) ?? (await deps.store.findSshKeyByFingerprint(id));
    const principal = c.get("principal");
    if (key === undefined || (!isAdmin(principal) && key.tokenId !== principal.tokenId)) {
      throw new NotFoundError("key", id);
    }
    await deps.store.removeSshKey(key.id);
    return c.body(null, 204);
  });

  return routes;
}

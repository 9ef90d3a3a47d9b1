import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { SshKeyRecord } from "../store/store.ts";
import { apiHarness, type ApiHarness } from "./test-harness.ts";

const dir = mkdtempSync(join(tmpdir(), "sw-keys-"));
execFileSync("ssh-keygen", [
  "-q",
  "-t",
  "ed25519",
  "-N",
  "",
  "-C",
  "me@laptop",
  "-f",
  join(dir, "k"),
]);
const publicKey = readFileSync(join(dir, "k.pub"), "utf8");
const fingerprint = execFileSync("ssh-keygen", ["-lf", join(dir, "k.pub")], {
  encoding: "utf8",
}).split(" ")[1];

const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("/v1/keys", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await apiHarness();
  });
  afterEach(async () => {
    await h.close();
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("adds a key with its fingerprint, lists it, removes it by fingerprint", async () => {
    const res = await h.request("/v1/keys", post({ publicKey }));
    assert.equal(res.status, 201);
    const key = (await res.json()) as SshKeyRecord;
    assert.equal(key.fingerprint, fingerprint);
    assert.equal(key.name, "me@laptop");
    const list = (await (await h.request("/v1/keys")).json()) as { items: SshKeyRecord[] };
    assert.deepEqual(
      list.items.map((k) => k.id),
      [key.id],
    );
    const removed = await h.request(`/v1/keys/${encodeURIComponent(key.fingerprint)}`, {
      method: "DELETE",
    });
    assert.equal(removed.status, 204);
    assert.deepEqual(await h.store.listSshKeys(), []);
  });

  it("refuses a duplicate (409), a bad key (400/422) and an unknown id (404)", async () => {
    assert.equal((await h.request("/v1/keys", post({ publicKey }))).status, 201);
    assert.equal((await h.request("/v1/keys", post({ publicKey }))).status, 409);
    const bad = await h.request("/v1/keys", post({ publicKey: "ssh-dss AAAA" }));
    assert.ok(bad.status === 400 || bad.status === 422, String(bad.status));
    assert.equal((await h.request("/v1/keys/key_nope", { method: "DELETE" })).status, 404);
    assert.equal((await h.store.listSshKeys()).length, 1);
  });
});

import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import {
  ensureAdminToken,
  generateToken,
  hashesEqual,
  hashToken,
  isTokenShaped,
  type Credentials,
} from "./tokens.ts";

const dir = mkdtempSync(join(tmpdir(), "slipway-tokens-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
let homes = 0;
const newHome = (): string => join(dir, `home-${++homes}`);
const apiInfo = { url: null, socket: "/run/slipway/api.sock", ca: null };

describe("generateToken", () => {
  it("returns swt_ and 32 random bytes in base64url", () => {
    const token = generateToken();
    assert.match(token, /^swt_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token.slice(4), "base64url").length, 32);
    assert.ok(isTokenShaped(token));
  });

  it("never repeats", () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateToken));
    assert.equal(tokens.size, 1000);
  });
});

describe("isTokenShaped", () => {
  it("rejects anything but a well-formed token", () => {
    for (const value of [
      "",
      "swt_",
      "swt_short",
      `xyz_${"a".repeat(43)}`,
      `swt_${"a".repeat(44)}`,
    ]) {
      assert.equal(isTokenShaped(value), false, value);
    }
  });
});

describe("hashToken", () => {
  it("is sha256 in hex", () => {
    assert.equal(
      hashToken("abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});

describe("hashesEqual", () => {
  it("compares equal and unequal hashes, including different lengths", () => {
    const hash = hashToken("x");
    assert.equal(hashesEqual(hash, hashToken("x")), true);
    assert.equal(hashesEqual(hash, hashToken("y")), false);
    assert.equal(hashesEqual(hash, hash.slice(1)), false);
  });
});

describe("ensureAdminToken", () => {
  it("writes a 0600 credentials file and stores only the hash", async () => {
    const store = new SqliteStore(":memory:");
    const path = join(newHome(), "credentials.json");
    assert.deepEqual(await ensureAdminToken(store, path, apiInfo), { created: true });

    assert.equal(statSync(path).mode & 0o777, 0o600);
    const credentials = JSON.parse(readFileSync(path, "utf8")) as Credentials;
    assert.deepEqual({ ...credentials, token: "" }, { token: "", ...apiInfo });
    assert.ok(isTokenShaped(credentials.token));
    const record = await store.findTokenByHash(hashToken(credentials.token));
    assert.deepEqual(record?.scopes, ["admin"]);
    assert.equal(record.revokedAt, null);
    assert.ok(!JSON.stringify(record).includes(credentials.token));
    assert.deepEqual(readdirSync(join(path, "..")), ["credentials.json"]);
    await store.close();
  });

  it("leaves an existing credentials file alone", async () => {
    const store = new SqliteStore(":memory:");
    const path = join(newHome(), "credentials.json");
    await ensureAdminToken(store, path, apiInfo);
    const before = readFileSync(path, "utf8");
    assert.deepEqual(await ensureAdminToken(store, path, apiInfo), { created: false });
    assert.equal(readFileSync(path, "utf8"), before);
    await store.close();
  });

  it("tightens an existing file that others could read", async () => {
    const store = new SqliteStore(":memory:");
    const path = join(newHome(), "credentials.json");
    await ensureAdminToken(store, path, apiInfo);
    chmodSync(path, 0o644);
    await ensureAdminToken(store, path, apiInfo);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await store.close();
  });

  it("creates one token when called twice at once, revoking the loser's", async () => {
    const store = new SqliteStore(":memory:");
    const path = join(newHome(), "credentials.json");
    const results = await Promise.all([
      ensureAdminToken(store, path, apiInfo),
      ensureAdminToken(store, path, apiInfo),
    ]);
    assert.equal(results.filter((result) => result.created).length, 1);
    const credentials = JSON.parse(readFileSync(path, "utf8")) as Credentials;
    assert.equal((await store.findTokenByHash(hashToken(credentials.token)))?.revokedAt, null);
    assert.deepEqual(readdirSync(join(path, "..")), ["credentials.json"]);
    await store.close();
  });

  it("mints a new token when the credentials file was removed", async () => {
    const store = new SqliteStore(":memory:");
    const path = join(newHome(), "credentials.json");
    await ensureAdminToken(store, path, apiInfo);
    const first = readFileSync(path, "utf8");
    rmSync(path);
    assert.deepEqual(await ensureAdminToken(store, path, apiInfo), { created: true });
    assert.notEqual(readFileSync(path, "utf8"), first);
    await store.close();
  });
});

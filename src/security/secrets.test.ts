import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DriverError } from "../domain/errors.ts";
import { loadSecretKey, SecretBox } from "./secrets.ts";

describe("SecretBox", () => {
  const box = new SecretBox(randomBytes(32));

  it("round-trips a record and never stores it in the clear", () => {
    const vars = { DATABASE_URL: "postgres://u:hunter2@db/x", GREETING: "héllo" };
    const sealed = box.sealJson(vars, "app_1");
    assert.match(sealed, /^v1:[A-Za-z0-9+/=]+$/);
    assert.ok(!sealed.includes("hunter2"));
    assert.deepEqual(box.openRecord(sealed, "app_1"), vars);
  });

  it("uses a fresh IV every time", () => {
    assert.notEqual(box.seal("same", "a"), box.seal("same", "a"));
  });

  it("detects tampering, another context and another key", () => {
    const sealed = box.seal("secret", "app_1");
    const raw = Buffer.from(sealed.slice(3), "base64");
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    assert.throws(() => box.open(`v1:${raw.toString("base64")}`, "app_1"), DriverError);
    assert.throws(() => box.open(sealed, "app_2"), DriverError);
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, "app_1"), DriverError);
    assert.throws(() => box.open("v2:abc", "app_1"), DriverError);
    assert.throws(() => box.open("garbage", "app_1"), DriverError);
  });
});

describe("loadSecretKey", () => {
  it("creates a 0600 key once and reuses it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sw-key-"));
    try {
      const path = join(dir, "secrets.key");
      const a = await loadSecretKey(path);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      const key = await readFile(path);
      const b = await loadSecretKey(path);
      assert.deepEqual(await readFile(path), key);
      assert.equal(b.open(a.seal("x", "c"), "c"), "x");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a key others can read, or of the wrong size", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sw-key-"));
    try {
      const path = join(dir, "secrets.key");
      await writeFile(path, randomBytes(32), { mode: 0o644 });
      await chmod(path, 0o644);
      await assert.rejects(loadSecretKey(path), /readable by other users/);
      await writeFile(path, randomBytes(7));
      await chmod(path, 0o600);
      await assert.rejects(loadSecretKey(path), /must hold 32 bytes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

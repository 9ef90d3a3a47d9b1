import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ValidationError } from "../domain/errors.ts";
import { parseSshPublicKey } from "./ssh-key.ts";

describe("parseSshPublicKey", () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-key-"));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function keygen(name: string, args: readonly string[]): { pub: string; fingerprint: string } {
    const file = join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-N", "", "-C", "me@laptop", "-f", file, ...args]);
    const fingerprint = execFileSync("ssh-keygen", ["-lf", `${file}.pub`], {
      encoding: "utf8",
    }).split(" ")[1];
    return { pub: readFileSync(`${file}.pub`, "utf8"), fingerprint: fingerprint ?? "" };
  }

  for (const [name, args] of [
    ["ed25519", ["-t", "ed25519"]],
    ["ecdsa", ["-t", "ecdsa"]],
    ["rsa", ["-t", "rsa", "-b", "3072"]],
  ] as const) {
    it(`accepts an ${name} key with the fingerprint ssh-keygen -lf prints`, () => {
      const { pub, fingerprint } = keygen(name, args);
      const key = parseSshPublicKey(pub);
      assert.equal(key.fingerprint, fingerprint);
      assert.equal(key.comment, "me@laptop");
      assert.equal(`${key.publicKey} me@laptop\n`, pub);
    });
  }

  it("refuses a short RSA key, a private key, garbage and a type/data mismatch", () => {
    const short = keygen("short", ["-t", "rsa", "-b", "1024"]);
    assert.throws(() => parseSshPublicKey(short.pub), /at least 2048 bits/);
    assert.throws(
      () => parseSshPublicKey(readFileSync(join(dir, "ed25519"), "utf8")),
      /private key/,
    );
    assert.throws(() => parseSshPublicKey("hello"), ValidationError);
    assert.throws(() => parseSshPublicKey("ssh-ed25519 !!!"), /base64/);
    const ed = keygen("ed2", ["-t", "ed25519"]).pub.split(" ")[1] ?? "";
    assert.throws(() => parseSshPublicKey(`ssh-rsa ${ed}`), /not a ssh-rsa key/);
    assert.throws(() => parseSshPublicKey(`command="sh" ssh-ed25519 ${ed}`), /unsupported/);
  });
});

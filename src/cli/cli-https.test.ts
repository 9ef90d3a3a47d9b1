import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { install, runCli, scratch, type Installation } from "./test-kit.ts";

const dirs = scratch("slipway-cli-https-");

/** A throwaway CA and a certificate for 127.0.0.1 signed by it (ECDSA P-256, one day). */
function makeCertificates(dir: string): { ca: string; key: string; cert: string } {
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=Slipway test CA",
  );
  openssl("req", ...ec, "-keyout", "api.key", "-out", "api.csr", "-subj", "/CN=127.0.0.1");
  writeFileSync(join(dir, "api.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    "api.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "api.pem",
    "-days",
    "1",
    "-extfile",
    "api.ext",
  );
  return {
    ca: join(dir, "ca.pem"),
    key: readFileSync(join(dir, "api.key"), "utf8"),
    cert: readFileSync(join(dir, "api.pem"), "utf8"),
  };
}

describe("slipway CLI against a remote API over https", () => {
  let slipway: Installation;
  let ca: string;
  before(async () => {
    const certs = makeCertificates(dirs.newDir());
    ca = certs.ca;
    slipway = await install(dirs, { tls: { key: certs.key, cert: certs.cert } });
    await slipway.store.createApp("shop");
  });
  after(async () => {
    await slipway.close();
    dirs.remove();
  });

  it("logs in with the CA file and then talks https", async () => {
    const url = slipway.url ?? assert.fail("no https URL");
    const env = { XDG_CONFIG_HOME: dirs.newDir() };
    const login = await runCli(dirs, ["login", url, "--token", slipway.token, "--ca", ca], env);
    assert.equal(login.code, 0, login.stderr);
    const apps = await runCli(dirs, ["apps", "--json"], env);
    assert.equal(apps.code, 0, apps.stderr);
    assert.deepEqual(
      (JSON.parse(apps.stdout) as { name: string }[]).map((app) => app.name),
      ["shop"],
    );
  });

  it("refuses a certificate it cannot verify, saving nothing", async () => {
    const url = slipway.url ?? assert.fail("no https URL");
    const result = await runCli(dirs, ["login", url, "--token", slipway.token], {
      XDG_CONFIG_HOME: dirs.newDir(),
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /cannot reach the Slipway API at https:\/\/127\.0\.0\.1:\d+\/: .*certificate/,
    );
  });
});

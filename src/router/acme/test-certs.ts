import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM pair made with the openssl CLI, for tests. */
export interface TestPair {
  readonly cert: string;
  readonly key: string;
}

/**
 * A CA, an intermediate signed by it, and leaves signed by the intermediate, for
 * certificate-validation tests (openssl CLI; a few hundred ms).
 */
export function makeTestCertificates(): {
  readonly ca: TestPair;
  readonly intermediate: TestPair;
  leaf(hosts: readonly string[], days?: number): TestPair;
  selfSigned(host: string): TestPair;
} {
  const dir = mkdtempSync(join(tmpdir(), "sw-certs-"));
  let n = 0;
  const run = (args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  };
  const read = (name: string): TestPair => ({
    cert: readFileSync(join(dir, `${name}.pem`), "utf8"),
    key: readFileSync(join(dir, `${name}.key`), "utf8"),
  });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  run([
    "req",
    "-x509",
    ...newKey,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "5",
    "-subj",
    "/CN=Test Root",
  ]);
  run([
    "req",
    ...newKey,
    "-keyout",
    "int.key",
    "-out",
    "int.csr",
    "-subj",
    "/CN=Test Intermediate",
  ]);
  execFileSync(
    "sh",
    [
      "-c",
      "printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' > int.ext",
    ],
    { cwd: dir },
  );
  run([
    "x509",
    "-req",
    "-in",
    "int.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "int.pem",
    "-days",
    "5",
    "-extfile",
    "int.ext",
  ]);
  const result = {
    ca: read("ca"),
    intermediate: read("int"),
    leaf(hosts: readonly string[], days = 5): TestPair {
      const name = `leaf${String(++n)}`;
      run([
        "req",
        ...newKey,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=${hosts[0] ?? "x"}`,
      ]);
      execFileSync(
        "sh",
        [
          "-c",
          `printf 'subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}\\n' > ${name}.ext`,
        ],
        { cwd: dir },
      );
      run([
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "int.pem",
        "-CAkey",
        "int.key",
        "-CAcreateserial",
        "-out",
        `${name}.pem`,
        "-days",
        String(days),
        "-extfile",
        `${name}.ext`,
      ]);
      return read(name);
    },
    selfSigned(host: string): TestPair {
      const name = `self${String(++n)}`;
      run([
        "req",
        "-x509",
        ...newKey,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.pem`,
        "-days",
        "5",
        "-subj",
        `/CN=${host}`,
        "-addext",
        `subjectAltName=DNS:${host}`,
      ]);
      return read(name);
    },
  };
  process.once("exit", () => {
    rmSync(dir, { recursive: true, force: true });
  });
  return result;
}

import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey, randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { DriverError, ValidationError } from "../domain/errors.ts";

/**
 * Slipway's own certificate authority. It signs the wildcard certificate the router serves
 * until real (ACME) certificates exist, so a fresh install speaks HTTPS from the first
 * request; users who want browsers to trust it import ca.pem.
 *
 * Everything goes through the `openssl` CLI with explicit, generated configuration files
 * (never the system openssl.cnf), so the extensions are exactly the ones written here.
 */

/** Where a CA lives on disk. */
export interface CaFiles {
  /** The CA certificate (public; hand it to clients as their trust anchor). */
  readonly certPath: string;
  /** The CA private key, mode 0600. */
  readonly keyPath: string;
  /** True when this call created the CA. */
  readonly created: boolean;
}

/** Options for {@link ensureServerCertificate}. */
export interface ServerCertificateRequest {
  /** Directory of the CA (as passed to {@link ensureCa}). */
  readonly caDir: string;
  /** Directory that receives `<domain>.pem`. */
  readonly outDir: string;
  /** The certificate covers `domain` and `*.domain`. */
  readonly domain: string;
  /** The clock; tests move it. */
  readonly now?: Date;
}

/** A combined PEM (leaf certificate, CA certificate, leaf key) that HAProxy loads. */
export interface ServerCertificate {
  readonly pemPath: string;
  readonly notAfter: Date;
  /** True when this call (re)issued the certificate. */
  readonly issued: boolean;
}

const CA_CERT = "ca.pem";
const CA_KEY = "ca-key.pem";
const CA_DAYS = 3650;
/** The CA/Browser Forum limit for publicly trusted certificates; browsers enforce it. */
const LEAF_DAYS = 397;
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
const OPENSSL_TIMEOUT_MS = 30_000;
const DOMAIN =
  /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const execFileAsync = promisify(execFile);

/**
 * Creates the CA in `dir` unless it exists: an ECDSA P-256 key (0600) and a self-signed
 * certificate valid for 10 years that may sign server certificates only (pathlen 0).
 * ca.pem is written last and is the commit marker: a key without a certificate is
 * left-over from an interrupted run and is replaced.
 */
export async function ensureCa(dir: string): Promise<CaFiles> {
  const certPath = join(dir, CA_CERT);
  const keyPath = join(dir, CA_KEY);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await readOptional(certPath);
  if (existing !== null) {
    await assertKeyMatches(existing, keyPath);
    return { certPath, keyPath, created: false };
  }
  await withScratchDir(dir, async (scratch) => {
    const config = join(scratch, "ca.cnf");
    const key = join(scratch, CA_KEY);
    const cert = join(scratch, CA_CERT);
    await writeFile(config, caConfig(randomBytes(4).toString("hex")), { mode: 0o600 });
    await generateKey(key);
    const days = String(CA_DAYS);
    await openssl([
      "req",
      "-new",
      "-x509",
      "-config",
      config,
      "-key",
      key,
      "-sha256",
      "-days",
      days,
      "-out",
      cert,
    ]);
    await rename(key, keyPath);
    await rename(cert, certPath);
  });
  return { certPath, keyPath, created: true };
}

/**
 * Makes sure `outDir/<domain>.pem` holds a certificate for `domain` and `*.domain` signed by
 * the CA in `caDir`. It is (re)issued when missing, unreadable, for other names, signed by
 * another CA, or expiring within 30 days; otherwise left alone.
 */
export async function ensureServerCertificate(
  request: ServerCertificateRequest,
): Promise<ServerCertificate> {
  const domain = request.domain;
  if (!DOMAIN.test(domain)) {
    throw new ValidationError(`not a valid domain name: ${JSON.stringify(domain)}`);
  }
  const now = request.now ?? new Date();
  const ca = await ensureCa(request.caDir);
  const caPem = await readFile(ca.certPath, "utf8");
  const pemPath = join(request.outDir, `${domain}.pem`);
  const current = await readOptional(pemPath);
  if (current !== null) {
    const notAfter = reusableUntil(current, caPem, domain, now);
    if (notAfter !== null) return { pemPath, notAfter, issued: false };
  }
  await mkdir(request.outDir, { recursive: true, mode: 0o700 });
  const combined = await issueLeaf(ca, caPem, domain, request.outDir);
  const temp = join(request.outDir, `.${domain}.pem.${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(temp, combined, { mode: 0o600, flag: "wx" });
    await rename(temp, pemPath);
  } finally {
    await rm(temp, { force: true });
  }
  return { pemPath, notAfter: new X509Certificate(combined).validToDate, issued: true };
}

/** The expiry of the current certificate if it can stay, or null when it must be reissued. */
function reusableUntil(pem: string, caPem: string, domain: string, now: Date): Date | null {
  const leaf = parseCertificate(pem);
  if (leaf === null) return null;
  const ca = new X509Certificate(caPem);
  const names = (leaf.subjectAltName ?? "").split(", ").sort().join(",");
  const wanted = [`DNS:*.${domain}`, `DNS:${domain}`].sort().join(",");
  const fresh = leaf.validToDate.getTime() - now.getTime() > RENEW_BEFORE_MS;
  const ours = leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
  return names === wanted && fresh && ours ? leaf.validToDate : null;
}

/** A truncated or foreign file is replaced rather than trusted, so a parse error means null. */
function parseCertificate(pem: string): X509Certificate | null {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_OSSL")) return null;
    throw error;
  }
}

async function issueLeaf(ca: CaFiles, caPem: string, domain: string, near: string) {
  return withScratchDir(near, async (scratch) => {
    const config = join(scratch, "leaf.cnf");
    const key = join(scratch, "leaf-key.pem");
    const csr = join(scratch, "leaf.csr");
    const cert = join(scratch, "leaf.pem");
    await writeFile(config, leafConfig(domain), { mode: 0o600 });
    await generateKey(key);
    await openssl(["req", "-new", "-config", config, "-key", key, "-out", csr]);
    await openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.certPath,
      "-CAkey",
      ca.keyPath,
      "-set_serial",
      randomSerial(),
      "-days",
      String(LEAF_DAYS),
      "-sha256",
      "-extfile",
      config,
      "-extensions",
      "leaf",
      "-out",
      cert,
    ]);
    const [leafPem, keyPem] = await Promise.all([readFile(cert, "utf8"), readFile(key, "utf8")]);
    return `${leafPem.trimEnd()}\n${caPem.trimEnd()}\n${keyPem.trimEnd()}\n`;
  });
}

/** A positive random 16-octet serial, so reissues never collide (RFC 5280: at most 20). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes.writeUInt8((bytes.readUInt8(0) & 0x3f) | 0x40, 0);
  return `0x${bytes.toString("hex")}`;
}

function caConfig(id: string): string {
  return [
    "[req]",
    "prompt = no",
    "distinguished_name = dn",
    "x509_extensions = ca_ext",
    "[dn]",
    "O = Slipway",
    // A per-installation name, so two Slipway CAs in one trust store stay distinguishable.
    `CN = Slipway local CA ${id}`,
    "[ca_ext]",
    "basicConstraints = critical, CA:TRUE, pathlen:0",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid:always",
    "",
  ].join("\n");
}

function leafConfig(domain: string): string {
  // CN is informational (clients match SANs); it is limited to 64 characters.
  const cn = domain.length <= 64 ? domain : "Slipway";
  return [
    "[req]",
    "prompt = no",
    "distinguished_name = dn",
    "[dn]",
    `CN = ${cn}`,
    "[leaf]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature",
    "extendedKeyUsage = serverAuth",
    `subjectAltName = DNS:${domain}, DNS:*.${domain}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    "",
  ].join("\n");
}

async function generateKey(path: string): Promise<void> {
  const curve = ["-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve"];
  await openssl(["genpkey", "-algorithm", "EC", ...curve, "-out", path]);
  await chmod(path, 0o600);
}

async function assertKeyMatches(certPem: string, keyPath: string): Promise<void> {
  const keyPem = await readOptional(keyPath);
  if (keyPem === null) throw new DriverError("ca", `${keyPath} is missing`);
  if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) {
    throw new DriverError("ca", `${keyPath} does not belong to the CA certificate`);
  }
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync("openssl", args, { timeout: OPENSSL_TIMEOUT_MS });
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail = typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : "";
    throw new DriverError("ca", `openssl ${args[0] ?? ""} failed: ${detail}`, { cause: error });
  }
}

/** Runs `work` in a private scratch directory next to `near` and always removes it. */
async function withScratchDir<T>(near: string, work: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(near, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(near, ".scratch-"));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

import { execFile } from "node:child_process";
import { createPrivateKey, type KeyObject } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DriverError } from "../../domain/errors.ts";
import { send, type HttpResponse } from "./http.ts";
import { b64url, jwkThumbprint, newEcKey, signJws } from "./jws.ts";

/** Where http-01 key authorizations are published while a challenge is pending. */
export interface ChallengeResponder {
  set(token: string, keyAuthorization: string): void;
  delete(token: string): void;
}

/** Construction options of {@link AcmeClient}. */
export interface AcmeClientOptions {
  /** The ACME directory URL (Let's Encrypt production by default in the config). */
  readonly directoryUrl: string;
  /** The account key (ES256 / P-256). */
  readonly accountKey: KeyObject;
  /** Extra CA bundle to trust (a test CA such as Pebble's). */
  readonly ca?: string;
  /** Contact e-mail for the account, if any. */
  readonly email?: string;
  readonly responder: ChallengeResponder;
  /** How often to poll authorizations and orders, and for how long. */
  readonly pollMs?: number;
  readonly pollTimeoutMs?: number;
}

/** What an issuance returns: the certificate chain and its private key, both PEM. */
export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly keyPem: string;
}

interface Directory {
  readonly newNonce: string;
  readonly newAccount: string;
  readonly newOrder: string;
}

interface Order {
  readonly status: string;
  readonly authorizations: readonly string[];
  readonly finalize: string;
  readonly certificate?: string;
  readonly error?: Problem;
}

interface Authorization {
  readonly status: string;
  readonly identifier: { readonly value: string };
  readonly challenges: readonly Challenge[];
}

interface Challenge {
  readonly type: string;
  readonly url: string;
  readonly token: string;
  readonly status: string;
  readonly error?: Problem;
}

interface Problem {
  readonly type?: string;
  readonly detail?: string;
}

/**
 * A small ACME (RFC 8555) client for http-01: account, order, authorization, challenge,
 * finalize with a CSR, download. No dependency: JWS ES256 with node:crypto, the CSR with
 * the openssl CLI. Failures are DriverErrors whose message is the CA's reason.
 */
export class AcmeClient {
  readonly #options: AcmeClientOptions;
  readonly #pollMs: number;
  readonly #pollTimeoutMs: number;
  #directory: Directory | null = null;
  #kid: string | null = null;
  #nonce: string | null = null;

  constructor(options: AcmeClientOptions) {
    this.#options = options;
    this.#pollMs = options.pollMs ?? 1000;
    this.#pollTimeoutMs = options.pollTimeoutMs ?? 120_000;
  }

  /** Orders, validates and downloads a certificate for one host name. */
  async issue(hostname: string): Promise<IssuedCertificate> {
    await this.#account();
    const created = await this.#post(this.#dir().newOrder, {
      identifiers: [{ type: "dns", value: hostname }],
    });
    const orderUrl = header(created, "location");
    let order = parse<Order>(created);
    for (const url of order.authorizations) await this.#authorize(url);
    const key = newEcKey();
    const csr = await makeCsr(key, hostname);
    order = await this.#pollOrder(orderUrl, ["ready", "valid"]);
    if (order.status === "ready") {
      await this.#post(order.finalize, { csr: b64url(csr) });
      order = await this.#pollOrder(orderUrl, ["valid"]);
    }
    if (order.certificate === undefined) throw acmeError("the order has no certificate URL");
    const certificate = await this.#post(order.certificate, null, {
      accept: "application/pem-certificate-chain",
    });
    return {
      certificatePem: certificate.body.toString("utf8"),
      keyPem: key.export({ format: "pem", type: "pkcs8" }).toString(),
    };
  }

  async #authorize(url: string): Promise<void> {
    const authz = parse<Authorization>(await this.#post(url, null));
    if (authz.status === "valid") return;
    const challenge = authz.challenges.find((c) => c.type === "http-01");
    if (challenge === undefined) {
      throw acmeError(`the CA offers no http-01 challenge for ${authz.identifier.value}`);
    }
    const keyAuthorization = `${challenge.token}.${jwkThumbprint(this.#options.accountKey)}`;
    this.#options.responder.set(challenge.token, keyAuthorization);
    try {
      await this.#post(challenge.url, {});
      const final = await this.#poll(url, (a: Authorization) => a.status !== "pending");
      if (final.status !== "valid") {
        const reason = final.challenges.find((c) => c.type === "http-01")?.error;
        throw acmeError(
          `authorization of ${authz.identifier.value} is ${final.status}: ${describe(reason)}`,
        );
      }
    } finally {
      this.#options.responder.delete(challenge.token);
    }
  }

  async #pollOrder(url: string, done: readonly string[]): Promise<Order> {
    const order = await this.#poll(
      url,
      (o: Order) => done.includes(o.status) || o.status === "invalid",
    );
    if (order.status === "invalid")
      throw acmeError(`the order is invalid: ${describe(order.error)}`);
    return order;
  }

  async #poll<T>(url: string, finished: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + this.#pollTimeoutMs;
    for (;;) {
      const value = parse<T>(await this.#post(url, null));
      if (finished(value)) return value;
      if (Date.now() > deadline) throw acmeError(`${url} did not settle in time`);
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
  }

  async #account(): Promise<void> {
    if (this.#kid !== null) return;
    const directory = await send(this.#options.directoryUrl, this.#http("GET"));
    if (directory.status !== 200) {
      throw acmeError(
        `directory ${this.#options.directoryUrl} answered ${String(directory.status)}`,
      );
    }
    this.#directory = parse<Directory>(directory);
    const email = this.#options.email;
    const response = await this.#post(this.#dir().newAccount, {
      termsOfServiceAgreed: true,
      ...(email === undefined ? {} : { contact: [`mailto:${email}`] }),
    });
    this.#kid = header(response, "location");
  }

  /** A signed POST (payload null = POST-as-GET); retries once on a stale nonce. */
  async #post(
    url: string,
    payload: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      const body = signJws({
        key: this.#options.accountKey,
        url,
        nonce: await this.#takeNonce(),
        kid: this.#kid,
        payload,
      });
      const response = await send(url, {
        ...this.#http("POST"),
        headers: { "content-type": "application/jose+json", ...headers },
        body,
      });
      const nonce = response.headers["replay-nonce"];
      if (typeof nonce === "string") this.#nonce = nonce;
      if (response.status < 400) return response;
      const problem = parseProblem(response);
      if (problem.type === "urn:ietf:params:acme:error:badNonce" && attempt < 3) continue;
      throw acmeError(`${describe(problem)} (HTTP ${String(response.status)} from ${url})`);
    }
  }

  async #takeNonce(): Promise<string> {
    const cached = this.#nonce;
    this.#nonce = null;
    if (cached !== null) return cached;
    const response = await send(this.#dir().newNonce, this.#http("HEAD"));
    return header(response, "replay-nonce");
  }

  #dir(): Directory {
    if (this.#directory === null) throw acmeError("no directory loaded");
    return this.#directory;
  }

  #http(method: "GET" | "HEAD" | "POST"): { method: "GET" | "HEAD" | "POST"; ca?: string } {
    return this.#options.ca === undefined ? { method } : { method, ca: this.#options.ca };
  }
}

/** Loads a PEM account key, or makes one (the caller stores it). */
export function accountKeyFrom(pem: string | null): { key: KeyObject; created: boolean } {
  if (pem === null) return { key: newEcKey(), created: true };
  return { key: createPrivateKey(pem), created: false };
}

/**
 * A DER CSR for one DNS name, made by the openssl CLI. The key goes through a private
 * temporary file: openssl cannot read a key from a pipe that is a socket.
 */
async function makeCsr(key: KeyObject, hostname: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "slipway-csr-"));
  const keyFile = join(dir, "key.pem");
  try {
    await writeFile(keyFile, key.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    return await new Promise((resolve, reject) => {
      execFile(
        "openssl",
        [
          "req",
          "-new",
          "-key",
          keyFile,
          "-subj",
          `/CN=${hostname}`,
          "-addext",
          `subjectAltName=DNS:${hostname}`,
          "-outform",
          "DER",
        ],
        { encoding: "buffer", timeout: 30_000 },
        (error, stdout, stderr) => {
          if (error !== null) {
            const first = stderr.toString("utf8").trim().split("\n")[0] ?? error.message;
            reject(acmeError(`openssl could not make the CSR: ${first}`));
          } else resolve(stdout);
        },
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The CA's JSON is taken at the shape RFC 8555 gives it; a missing field fails later, loudly.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function parse<T>(response: HttpResponse): T {
  try {
    return JSON.parse(response.body.toString("utf8")) as T;
  } catch (error) {
    throw acmeError(
      `the CA sent a response that is not JSON (HTTP ${String(response.status)})`,
      error,
    );
  }
}

function parseProblem(response: HttpResponse): Problem {
  try {
    const value: unknown = JSON.parse(response.body.toString("utf8"));
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return { detail: response.body.toString("utf8").slice(0, 200) };
  }
}

function header(response: HttpResponse, name: string): string {
  const value = response.headers[name];
  if (typeof value !== "string" || value === "") throw acmeError(`the CA sent no ${name} header`);
  return value;
}

function describe(problem: Problem | undefined): string {
  if (problem === undefined) return "no reason given";
  const type = problem.type?.replace("urn:ietf:params:acme:error:", "") ?? "error";
  return `${type}: ${problem.detail ?? "no detail"}`;
}

function acmeError(message: string, cause?: unknown): DriverError {
  return new DriverError("acme", message, { cause });
}

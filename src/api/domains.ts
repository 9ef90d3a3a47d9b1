import { Hono } from "hono";
import type { App } from "../domain/app.ts";
import { isUnder, validateHostname, type Domain } from "../domain/domain-name.ts";
import { NotFoundError, ValidationError } from "../domain/errors.ts";
import { checkCertificate } from "../router/acme/certificate-check.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { parseObject, parseQuery, readJsonBody, string } from "./validate.ts";

/** What the domain and certificate endpoints need beyond the store. */
export interface DomainDeps {
  /** The platform domain: names at or under it are the platform's, never custom domains. */
  readonly platformDomain: string;
  /** Whether new domains get ACME certificates (else they wait for `certs:add`). */
  readonly acmeEnabled: boolean;
  /** Writes a validated combined PEM for a domain (0600) and converges the router. */
  installCertificate(hostname: string, combinedPem: string): Promise<void>;
  /** Removes a domain's certificate file and converges the router. */
  removeCertificate(hostname: string): Promise<void>;
  /** The key authorization of a pending http-01 challenge token, if any. */
  challenge(token: string): string | undefined;
}

/** A domain's certificate as `slipway certs` shows it. */
export interface CertificateInfo {
  readonly domain: string;
  readonly source: Domain["certSource"];
  readonly status: Domain["certStatus"];
  readonly expiresAt: string | null;
  readonly lastError: string | null;
  readonly attempts: number;
  readonly retryAt: string | null;
}

const addDomainBody = { hostname: string({ maxLength: 253 }) };
const addCertBody = {
  domain: string({ maxLength: 253 }),
  certificate: string({ maxLength: 48 * 1024 }),
  key: string({ maxLength: 16 * 1024 }),
};

/**
 * /v1/apps/:name/domains (list, add, remove) and /v1/apps/:name/certs (status, upload).
 * A domain claimed by another app is a 409; a bad name or certificate a 422 with the
 * reason; nothing is changed by a refused request.
 */
export function domainRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  const domains = deps.domains;
  if (domains === undefined) return routes;

  routes.get("/apps/:name/domains", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json({ items: await deps.store.listDomains(app.id) });
  });

  routes.post("/apps/:name/domains", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    const body = parseObject(addDomainBody, await readJsonBody(c.req.raw));
    const hostname = customHostname(body.hostname, domains.platformDomain);
    const domain = await deps.store.addDomain(
      app.id,
      hostname,
      domains.acmeEnabled ? "acme" : "manual",
    );
    await deps.store.addEvent(app.id, "domain", `added ${hostname}`);
    c.header("Location", `/v1/apps/${app.name}/domains/${hostname}`);
    return c.json(domain, 201);
  });

  routes.delete("/apps/:name/domains/:hostname", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    const hostname = validateHostname(c.req.param("hostname"));
    await deps.store.removeDomain(app.id, hostname);
    await domains.removeCertificate(hostname);
    await deps.store.addEvent(app.id, "domain", `removed ${hostname}`);
    return c.body(null, 204);
  });

  routes.get("/apps/:name/certs", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json({ items: (await deps.store.listDomains(app.id)).map(certificateInfo) });
  });

  routes.post("/apps/:name/certs", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    const body = parseObject(addCertBody, await readJsonBody(c.req.raw));
    const domain = await appDomain(deps, app, validateHostname(body.domain));
    const checked = checkCertificate({
      certPem: body.certificate,
      keyPem: body.key,
      hostname: domain.hostname,
    });
    // A wildcard certificate also serves the app's other domains it covers.
    const covered = [
      domain.hostname,
      ...(await deps.store.listDomains(app.id))
        .map((d) => d.hostname)
        .filter((h) => h !== domain.hostname && covers(checked.names, h)),
    ];
    let updated = domain;
    for (const hostname of covered) {
      await domains.installCertificate(hostname, checked.combinedPem);
      const stored = await deps.store.updateDomainCert(hostname, {
        certSource: "manual",
        certStatus: "issued",
        certExpiresAt: checked.notAfter.toISOString(),
        certError: null,
        certAttempts: 0,
        certRetryAt: null,
      });
      if (hostname === domain.hostname) updated = stored;
      await deps.store.addEvent(app.id, "certificate", `uploaded for ${hostname}`);
    }
    return c.json({ ...certificateInfo(updated), covers: covered }, 201);
  });

  return routes;
}

/** A custom domain name: valid, and not the platform's own namespace. */
export function customHostname(value: unknown, platformDomain: string): string {
  const hostname = validateHostname(value);
  if (isUnder(hostname, platformDomain)) {
    throw new ValidationError(
      `${hostname} is under the platform domain ${platformDomain}; apps get NAME.${platformDomain} already`,
    );
  }
  return hostname;
}

async function appDomain(deps: ApiDeps, app: App, hostname: string): Promise<Domain> {
  const domain = await deps.store.getDomain(hostname);
  if (domain?.appId !== app.id) throw new NotFoundError("domain", hostname);
  return domain;
}

/** Whether a certificate naming `names` covers hostname (a wildcard: one label deep). */
export function covers(names: readonly string[], hostname: string): boolean {
  return names.some((name) => {
    const n = name.toLowerCase();
    if (!n.startsWith("*.")) return n === hostname;
    const dot = hostname.indexOf(".");
    return dot > 0 && hostname.slice(dot + 1) === n.slice(2);
  });
}

function certificateInfo(domain: Domain): CertificateInfo {
  return {
    domain: domain.hostname,
    source: domain.certSource,
    status: domain.certStatus,
    expiresAt: domain.certExpiresAt,
    lastError: domain.certError,
    attempts: domain.certAttempts,
    retryAt: domain.certRetryAt,
  };
}

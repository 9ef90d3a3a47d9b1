import { access } from "node:fs/promises";
import type { Domain } from "../domain/domain-name.ts";
import type { Logger } from "../domain/logger.ts";
import type { IssuedCertificate } from "../router/acme/acme-client.ts";
import { checkCertificate } from "../router/acme/certificate-check.ts";
import type { CertificateFiles } from "../router/acme/certificate-files.ts";
import type { Store } from "../store/store.ts";
import { planCertificate, retryDelayMs } from "./certificates-plan.ts";

/** Construction options of {@link CertificatesController}. */
export interface CertificatesControllerDeps {
  readonly store: Store;
  readonly files: CertificateFiles;
  /** Issues a certificate for one host name (the ACME client). */
  readonly issue: (hostname: string) => Promise<IssuedCertificate>;
  /** Converges the router after a certificate changed. */
  readonly syncRoutes: () => Promise<void>;
  readonly logger: Logger;
  /** How often every domain is looked at again (renewals, retries). */
  readonly intervalMs: number;
  /** Back-off after the first failure; doubles per failure up to maxRetryMs. */
  readonly retryBaseMs: number;
  readonly maxRetryMs: number;
  readonly now?: () => Date;
}

/**
 * Level-triggered like the app controller: each pass compares every domain's certificate
 * state with what it should be (planCertificate) and acts. Passes run on a timer and after
 * every domain change; they never overlap (a change during a pass causes one more pass).
 */
export class CertificatesController {
  readonly #deps: CertificatesControllerDeps;
  readonly #now: () => Date;
  #running: Promise<void> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(deps: CertificatesControllerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  start(): void {
    this.#unsubscribe = this.#deps.store.onChange((change) => {
      if (change.kind === "domain") void this.kick();
    });
    this.#timer = setInterval(() => void this.kick(), this.#deps.intervalMs);
    this.#timer.unref();
    void this.kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#running;
  }

  /** Runs a pass now (or right after the current one); resolves when that pass is done. */
  kick(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      for (;;) {
        this.#again = false;
        await this.#pass();
        if (!this.#repeat()) break;
      }
    })().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** A change arrived during the pass (and we are not stopping): run once more. */
  #repeat(): boolean {
    return this.#again && !this.#stopped;
  }

  async #pass(): Promise<void> {
    let domains: Domain[];
    try {
      domains = await this.#deps.store.listDomains();
    } catch (error) {
      this.#deps.logger.error("certificates: listing domains failed", { error });
      return;
    }
    for (const domain of domains) {
      if (this.#stopped) return;
      const exists = await fileExists(this.#deps.files.path(domain.hostname));
      const action = planCertificate(domain, this.#now(), exists);
      if (action.kind !== "issue") continue;
      await this.#issue(domain, action.reason);
    }
  }

  async #issue(domain: Domain, reason: string): Promise<void> {
    const { store, logger, files } = this.#deps;
    logger.info("certificates: ordering", { domain: domain.hostname, reason });
    try {
      const issued = await this.#deps.issue(domain.hostname);
      const checked = checkCertificate({
        certPem: issued.certificatePem,
        keyPem: issued.keyPem,
        hostname: domain.hostname,
        now: this.#now(),
      });
      // An upload (certs:add) or a removal while ordering wins over the ordered certificate.
      const now = await store.getDomain(domain.hostname);
      if (now?.certSource !== "acme") return;
      await files.write(domain.hostname, checked.combinedPem);
      await store.updateDomainCert(domain.hostname, {
        certStatus: "issued",
        certExpiresAt: checked.notAfter.toISOString(),
        certError: null,
        certAttempts: 0,
        certRetryAt: null,
      });
      await store.addEvent(domain.appId, "certificate", `issued for ${domain.hostname}`);
      logger.info("certificates: issued", { domain: domain.hostname });
      await this.#deps.syncRoutes();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const attempts = domain.certAttempts + 1;
      const delay = retryDelayMs(attempts, this.#deps.retryBaseMs, this.#deps.maxRetryMs);
      logger.warn("certificates: order failed", { domain: domain.hostname, error: message });
      try {
        // A failed renewal keeps serving the old certificate: only the error is recorded.
        await store.updateDomainCert(domain.hostname, {
          certStatus: domain.certStatus === "issued" ? "issued" : "failed",
          certError: message,
          certAttempts: attempts,
          certRetryAt: new Date(this.#now().getTime() + delay).toISOString(),
        });
      } catch (recordError) {
        // The domain may have been removed meanwhile; nothing left to record.
        logger.warn("certificates: could not record the failure", { error: recordError });
      }
    }
  }
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

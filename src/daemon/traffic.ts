import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DomainDeps } from "../api/domains.ts";
import type { MetricsDeps } from "../api/metrics.ts";
import type { Config } from "../config/config.ts";
import { CertificatesController } from "../controllers/certificates-controller.ts";
import type { Logger } from "../domain/logger.ts";
import { AcmeClient, accountKeyFrom, type IssuedCertificate } from "../router/acme/acme-client.ts";
import { CertificateFiles, writePrivate } from "../router/acme/certificate-files.ts";
import { ChallengeStore } from "../router/acme/challenges.ts";
import { AccessLog } from "../router/metrics/access-log.ts";
import { collectMetrics } from "../router/metrics/app-metrics.ts";
import type { Store } from "../store/store.ts";
import type { Paths } from "./paths.ts";

/** Custom domains' certificates: files, ACME challenges and the controller. */
export interface CertificateServices {
  readonly files: CertificateFiles;
  readonly domains: DomainDeps;
  /** Null when ACME is off (SLIPWAY_ACME=off): certificates then come from `certs:add`. */
  readonly controller: CertificatesController | null;
}

/** Wires certificate storage, the ACME client and the certificates controller. */
export async function certificateServices(input: {
  readonly config: Config;
  readonly paths: Paths;
  readonly store: Store;
  readonly syncRoutes: () => Promise<void>;
  readonly logger: Logger;
}): Promise<CertificateServices> {
  const { config, paths, store, logger } = input;
  const files = new CertificateFiles(join(paths.certsDir, "domains"));
  await files.ensureDir();
  const challenges = new ChallengeStore();
  const acme = config.acme;
  let client: AcmeClient | null = null;
  const issue = async (hostname: string): Promise<IssuedCertificate> => {
    client ??= new AcmeClient({
      directoryUrl: acme.directoryUrl,
      accountKey: await accountKey(files),
      responder: challenges,
      ...(acme.caFile === null ? {} : { ca: await readFile(acme.caFile, "utf8") }),
      ...(acme.email === null ? {} : { email: acme.email }),
    });
    try {
      return await client.issue(hostname);
    } catch (error) {
      // A broken session (expired account, changed directory) starts afresh next time.
      client = null;
      throw error;
    }
  };
  const controller = acme.enabled
    ? new CertificatesController({
        store,
        files,
        issue,
        syncRoutes: input.syncRoutes,
        logger,
        intervalMs: acme.checkIntervalSeconds * 1000,
        retryBaseMs: acme.retryBaseSeconds * 1000,
        maxRetryMs: 24 * 3600_000,
      })
    : null;
  return {
    files,
    controller,
    domains: {
      platformDomain: config.domain,
      acmeEnabled: acme.enabled,
      async installCertificate(hostname, combinedPem) {
        await files.write(hostname, combinedPem);
        await input.syncRoutes();
      },
      async removeCertificate(hostname) {
        await files.remove(hostname);
        await input.syncRoutes();
      },
      challenge: (token) => challenges.get(token),
    },
  };
}

/** The ACME account key, created (0600) on first use. */
async function accountKey(
  files: CertificateFiles,
): Promise<ReturnType<typeof accountKeyFrom>["key"]> {
  let pem: string | null = null;
  try {
    pem = await readFile(files.accountKeyPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const { key, created } = accountKeyFrom(pem);
  if (created) {
    await writePrivate(
      join(files.accountKeyPath, ".."),
      files.accountKeyPath,
      key.export({ format: "pem", type: "pkcs8" }).toString(),
    );
  }
  return key;
}

/** Starts the access-log listener on a free loopback port. */
export async function startAccessLog(paths: Paths): Promise<{ log: AccessLog; port: number }> {
  const log = new AccessLog({ dir: join(paths.logsDir, "access") });
  const port = await log.listen(0);
  return { log, port };
}

/** The metrics the API serves, from the router's stats socket and the access log. */
export function metricsDeps(statsSocket: string, log: AccessLog): MetricsDeps {
  return {
    collect: () => collectMetrics(statsSocket, log),
    accessLog: (app, limit) => log.recent(app, limit),
  };
}

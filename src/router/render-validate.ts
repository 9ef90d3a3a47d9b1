import { ValidationError } from "../domain/errors.ts";
import type { AppRoute, Endpoint, RouteTable } from "./router.ts";
import type { RouterSettings } from "./render.ts";
import { renderPolicyProblems } from "./render-policy.ts";

/**
 * Every value the renderer writes into haproxy.cfg passes through here first. The rules
 * are allow-lists (DNS names, IP literals, plain paths), not escaping: a value that could
 * end a token, a line or a quoted string, or expand an environment variable (`${X}`), never
 * reaches the output.
 */

const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const HOST = new RegExp(`^(?=.{1,253}$)(${LABEL}\\.)*${LABEL}$`);
const APP = new RegExp(`^${LABEL}$`);
/** Container names as Docker and Podman allow them. */
const SERVER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;
const PATH = /^\/[A-Za-z0-9._/+@-]+$/;
/** sun_path is 108 bytes including the terminating NUL (paths are ASCII by PATH). */
const MAX_SOCKET_PATH = 107;

/** A validated route table in canonical order, so equal states render byte-identical. */
export function canonicalRoutes(table: RouteTable, settings: RouterSettings): AppRoute[] {
  const problems: string[] = [];
  const seenApps = new Set<string>();
  const hostOwner = new Map<string, string>([[settings.platformHost, "the platform"]]);
  for (const route of table.apps) {
    const app = route.app;
    if (!APP.test(app)) problems.push(`app name ${show(route.app)} is not a DNS label`);
    else if (seenApps.has(app)) problems.push(`app ${app} appears twice`);
    seenApps.add(app);
    for (const host of route.hosts) {
      if (!isHostName(host)) problems.push(`app ${show(app)}: host ${show(host)} is not valid`);
      const owner = hostOwner.get(host);
      if (owner !== undefined)
        problems.push(`host ${show(host)} of app ${app} is taken by ${owner}`);
      hostOwner.set(host, `app ${app}`);
    }
    problems.push(...endpointProblems(app, route.endpoints));
    problems.push(...renderPolicyProblems(app, route.policy));
  }
  if (problems.length > 0) throw new ValidationError("invalid route table", problems);
  return table.apps
    .map((route) => ({
      app: route.app,
      hosts: [...route.hosts].sort(),
      endpoints: [...route.endpoints].sort((a, b) => compare(a.name, b.name)),
      ...(route.policy === undefined ? {} : { policy: route.policy }),
    }))
    .sort((a, b) => compare(a.app, b.app));
}

/** Checks the settings; throws ValidationError listing every problem. */
export function validateSettings(settings: RouterSettings): void {
  const problems: string[] = [];
  if (!isIpAddress(settings.bindAddress)) {
    problems.push(`bindAddress ${show(settings.bindAddress)} is not an IP address`);
  }
  for (const [name, port] of [
    ["httpPort", settings.httpPort],
    ["httpsPort", settings.httpsPort],
  ] as const) {
    if (!isPort(port)) problems.push(`${name} ${show(port)} is not a port`);
  }
  if (settings.httpPort === settings.httpsPort) problems.push("httpPort equals httpsPort");
  if (
    settings.threads !== undefined &&
    !(Number.isInteger(settings.threads) && settings.threads >= 1 && settings.threads <= 64)
  ) {
    problems.push(`threads ${show(settings.threads)} is not from 1 to 64`);
  }
  for (const [name, host] of [
    ["domain", settings.domain],
    ["platformHost", settings.platformHost],
  ] as const) {
    if (!isHostName(host)) problems.push(`${name} ${show(host)} is not a host name`);
  }
  for (const [name, path, socket] of [
    ["apiSocket", settings.apiSocket, true],
    ["statsSocket", settings.statsSocket, true],
    ["crtList", settings.crtList, false],
    ["mapDir", settings.mapDir, false],
  ] as const) {
    if (!isPlainPath(path)) problems.push(`${name} ${show(path)} is not a plain absolute path`);
    else if (socket && path.length > MAX_SOCKET_PATH) {
      problems.push(`${name} is longer than ${MAX_SOCKET_PATH} bytes`);
    }
  }
  if (problems.length > 0) throw new ValidationError("invalid router settings", problems);
}

/** A lower-case DNS name of letters, digits, dashes and dots (no wildcard, no trailing dot). */
export function isHostName(value: unknown): value is string {
  return typeof value === "string" && HOST.test(value);
}

/** An IPv4 or IPv6 literal (never a name: HAProxy would resolve it once, at start). */
export function isIpAddress(value: unknown): value is string {
  if (typeof value !== "string") return false;
  if (IPV4.test(value)) return true;
  return IPV6_CHARS.test(value) && value.includes(":") && URL.canParse(`http://[${value}]/`);
}

function endpointProblems(app: string, endpoints: readonly Endpoint[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const endpoint of endpoints) {
    const where = `app ${show(app)}: endpoint ${show(endpoint.name)}`;
    if (typeof endpoint.name !== "string" || !SERVER.test(endpoint.name)) {
      problems.push(`${where}: name is not a container name`);
    } else if (names.has(endpoint.name)) {
      problems.push(`${where}: name appears twice`);
    }
    names.add(endpoint.name);
    if (!isIpAddress(endpoint.address)) {
      problems.push(`${where}: address ${show(endpoint.address)} is not an IP address`);
    }
    if (!isPort(endpoint.port)) problems.push(`${where}: port ${show(endpoint.port)} is invalid`);
  }
  return problems;
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

function isPlainPath(value: unknown): value is string {
  return typeof value === "string" && PATH.test(value);
}

/** Quotes a rejected value for an error message without letting it span lines. */
function show(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(String(value));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

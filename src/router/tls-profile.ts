import { ValidationError } from "../domain/errors.ts";
import { isHostName } from "./render-validate.ts";
import type { RouteTable } from "./router.ts";

/** The crt-list options of the "modern" profile: TLS 1.3 only (Mozilla "modern" v5+). */
export const MODERN_OPTIONS = "[ssl-min-ver TLSv1.3]";

const PEM_PATH = /^\/[A-Za-z0-9._/+@-]+$/;

/**
 * The whole crt-list for a route table, one line per entry ("PEM [options] SNI\n"):
 *
 * 1. the platform's default certificate, without filter (served to clients that send no or
 *    an unknown SNI name, and for every platform host through its wildcard names);
 * 2. every custom domain's certificate, filtered to exactly that host name, with
 *    `[ssl-min-ver TLSv1.3]` when the domain's app is on the `modern` profile;
 * 3. for each platform host of a modern app, the default certificate again with the same
 *    options and that host as filter.
 *
 * HAProxy 2.6 applies crt-list SSL options per SNI name (ClientHello callback): an exact
 * filter wins over the default certificate's wildcard names, so a modern host refuses TLS
 * 1.2 while the other hosts on the same port keep Mozilla "intermediate" from
 * ssl-default-bind-options. Pure and deterministic. Every path and host name is validated
 * again (this text is a configuration file); throws ValidationError on anything else.
 */
export function crtListLines(table: RouteTable, defaultPem: string, domain: string): string[] {
  const modernHosts = new Set<string>();
  for (const route of table.apps) {
    if (route.policy?.tls === "modern") for (const host of route.hosts) modernHosts.add(host);
  }
  const line = (pem: string, modern: boolean, host: string | null): string => {
    const bad = [
      ...(PEM_PATH.test(pem) ? [] : [`certificate path ${JSON.stringify(pem)}`]),
      ...(host === null || isHostName(host) ? [] : [`host name ${JSON.stringify(host)}`]),
    ];
    if (bad.length > 0) throw new ValidationError("invalid crt-list entry", bad);
    return [pem, ...(modern ? [MODERN_OPTIONS] : []), ...(host === null ? [] : [host])]
      .join(" ")
      .concat("\n");
  };
  const custom = [...(table.certificates ?? [])]
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
    .map((cert) => line(cert.pem, modernHosts.has(cert.host), cert.host));
  const platform = [...modernHosts]
    .filter((host) => host.endsWith(`.${domain}`))
    .sort()
    .map((host) => line(defaultPem, true, host));
  return [...new Set([line(defaultPem, false, null), ...custom, ...platform])];
}

import { isHostName } from "./render-validate.ts";
import type { RouteTable } from "./router.ts";

/**
 * The per-app TLS profile, as crt-list lines. HAProxy 2.6 takes SSL options per crt-list
 * line, selected by the SNI name the client sends (ClientHello callback): a line naming an
 * app's host with `[ssl-min-ver TLSv1.3]` makes that host refuse TLS 1.2, while the other
 * hosts on the same port keep Mozilla "intermediate" from ssl-default-bind-options. An exact
 * SNI filter wins over the wildcard names of the default certificate. Pure.
 *
 * Only platform hosts (under the platform domain, served by the default certificate) are
 * covered: a custom domain's certificate line is the certificates controller's.
 */
export function modernTlsLines(table: RouteTable, defaultPem: string, domain: string): string[] {
  const lines: string[] = [];
  for (const route of [...table.apps].sort((a, b) => (a.app < b.app ? -1 : 1))) {
    if (route.policy?.tls !== "modern") continue;
    for (const host of [...route.hosts].sort()) {
      // Host names were validated by the renderer; check again: this text is a config file.
      if (isHostName(host) && host.endsWith(`.${domain}`)) {
        lines.push(`${defaultPem} [ssl-min-ver TLSv1.3] ${host}\n`);
      }
    }
  }
  return lines;
}

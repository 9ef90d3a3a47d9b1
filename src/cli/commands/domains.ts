import { readFile } from "node:fs/promises";
import type { CertificateInfo } from "../../api/domains.ts";
import type { Domain } from "../../domain/domain-name.ts";
import { UsageError } from "../errors.ts";
import { formatTime, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";

const list = defineCommand({
  name: "domains",
  summary: "list an app's custom domains",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway domains --app shop"],
  async run(ctx, { flags }) {
    const { items } = await (await ctx.client()).get<Items<Domain>>(appPath(flags.app, "/domains"));
    if (ctx.json) ctx.io.out(toJson(items));
    else if (items.length === 0)
      ctx.io.out(
        `${flags.app} has no custom domains. Add one with: slipway domains:add example.com --app ${flags.app}\n`,
      );
    else
      ctx.io.out(
        table(items, [
          { header: "domain", value: (d) => d.hostname },
          { header: "certificate", value: (d) => `${d.certSource}, ${d.certStatus}` },
          { header: "added", value: (d) => formatTime(d.createdAt) },
        ]),
      );
    return 0;
  },
});

const add = defineCommand({
  name: "domains:add",
  summary: "route a custom domain to an app",
  description:
    "Route a custom domain to an app (by Host and TLS SNI). Point its DNS at this server; with ACME on, a certificate is then ordered automatically (see `slipway certs`). A domain another app has is refused.",
  args: [{ name: "DOMAIN", description: "the host name, e.g. www.example.com" }],
  flags: { app: APP_FLAG },
  examples: ["slipway domains:add www.example.com --app shop"],
  async run(ctx, { args, flags }) {
    const domain = await (
      await ctx.client()
    ).post<Domain>(appPath(flags.app, "/domains"), { hostname: args.DOMAIN });
    ctx.io.out(
      ctx.json
        ? toJson(domain)
        : `Added ${domain.hostname} to ${flags.app}. ${
            domain.certSource === "acme"
              ? `A certificate is being ordered: slipway certs --app ${flags.app}`
              : `Add its certificate with: slipway certs:add --domain ${domain.hostname} CERT KEY --app ${flags.app}`
          }\n`,
    );
    return 0;
  },
});

const remove = defineCommand({
  name: "domains:remove",
  summary: "stop routing a custom domain to an app",
  args: [{ name: "DOMAIN", description: "the host name" }],
  flags: { app: APP_FLAG },
  examples: ["slipway domains:remove www.example.com --app shop"],
  async run(ctx, { args, flags }) {
    await (
      await ctx.client()
    ).delete(appPath(flags.app, `/domains/${encodeURIComponent(args.DOMAIN)}`));
    ctx.io.out(
      ctx.json
        ? toJson({ domain: args.DOMAIN, removed: true })
        : `Removed ${args.DOMAIN} from ${flags.app}\n`,
    );
    return 0;
  },
});

const certs = defineCommand({
  name: "certs",
  summary: "show the certificates of an app's domains",
  description:
    "Show each custom domain's certificate: where it comes from (acme or uploaded), its status, expiry, and the last error of a failed ACME order with the time of the next attempt.",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway certs --app shop"],
  async run(ctx, { flags }) {
    const { items } = await (
      await ctx.client()
    ).get<Items<CertificateInfo>>(appPath(flags.app, "/certs"));
    if (ctx.json) ctx.io.out(toJson(items));
    else if (items.length === 0) ctx.io.out(`${flags.app} has no custom domains.\n`);
    else
      ctx.io.out(
        table(items, [
          { header: "domain", value: (c) => c.domain },
          { header: "source", value: (c) => c.source },
          { header: "status", value: (c) => c.status },
          { header: "expires", value: (c) => formatTime(c.expiresAt) },
          {
            header: "last error",
            value: (c) =>
              c.lastError === null
                ? "-"
                : `${c.lastError} (attempt ${String(c.attempts)}, next ${formatTime(c.retryAt)})`,
          },
        ]),
      );
    return 0;
  },
});

const addCert = defineCommand({
  name: "certs:add",
  summary: "install your own certificate for a domain",
  description:
    "Install a certificate for one of the app's domains: CERT is the PEM certificate followed by its chain, KEY the unencrypted PEM private key. It is refused, with the reason, if the key does not match, the chain is broken, it does not cover the domain (a wildcard covers one level of subdomains), or it is expired or malformed.",
  args: [
    { name: "CERT", description: "PEM file: certificate, then chain" },
    { name: "KEY", description: "PEM file: private key" },
  ],
  flags: {
    app: APP_FLAG,
    domain: {
      type: "string",
      placeholder: "DOMAIN",
      required: true,
      description: "the app's domain the certificate is for",
    },
  },
  examples: ["slipway certs:add --domain www.example.com cert.pem key.pem --app shop"],
  async run(ctx, { args, flags }) {
    const [certificate, key] = await Promise.all([readPem(args.CERT), readPem(args.KEY)]);
    const info = await (
      await ctx.client()
    ).post<CertificateInfo>(appPath(flags.app, "/certs"), {
      domain: flags.domain,
      certificate,
      key,
    });
    ctx.io.out(
      ctx.json
        ? toJson(info)
        : `Installed the certificate for ${info.domain} (expires ${formatTime(info.expiresAt)})\n`,
    );
    return 0;
  },
});

async function readPem(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`, "certs:add");
  }
}

/** domains, domains:add, domains:remove, certs, certs:add. */
export const domainCommands: readonly Command[] = [list, add, remove, certs, addCert];

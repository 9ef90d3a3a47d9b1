import type { TokenView } from "../../api/tokens.ts";
import { splitVariadic } from "../args.ts";
import { UsageError } from "../errors.ts";
import { formatTime, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import type { Items } from "./common.ts";

const tokens = defineCommand({
  name: "tokens",
  summary: "list API tokens (admins only): role, apps, created, revoked",
  args: [],
  flags: {},
  examples: ["slipway tokens"],
  async run(ctx) {
    const { items } = await (await ctx.client()).get<Items<TokenView>>("/v1/tokens");
    if (ctx.json) ctx.io.out(toJson(items));
    else
      ctx.io.out(
        table(items, [
          { header: "id", value: (t) => t.id },
          { header: "name", value: (t) => t.name },
          { header: "role", value: (t) => t.role ?? "-" },
          { header: "apps", value: (t) => (t.role === "admin" ? "(all)" : t.apps.join(",")) },
          { header: "created", value: (t) => formatTime(t.createdAt) },
          {
            header: "revoked",
            value: (t) => (t.revokedAt === null ? "" : formatTime(t.revokedAt)),
          },
        ]),
      );
    return 0;
  },
});

const tokensCreate = defineCommand({
  name: "tokens:create",
  summary: "create an API token (a deploy token for some apps, or an admin token)",
  description: [
    "A deploy token (the default role) may push, deploy and read only the apps given with",
    "--app (repeat it, or separate names with commas): git over HTTPS (the token as the",
    "password), `slipway deploy`, releases, builds and logs of those apps. SSH keys added",
    "with it (`slipway keys:add`) may push to those apps only. An admin token may do",
    "everything. The token is printed once; only its hash is stored.",
  ].join("\n"),
  args: [],
  flags: {
    app: {
      type: "string",
      short: "a",
      placeholder: "NAME",
      repeatable: true,
      description: "an app the token may deploy (repeatable; or NAME1,NAME2)",
    },
    role: { type: "string", placeholder: "ROLE", description: "deploy (default) or admin" },
    name: { type: "string", placeholder: "NAME", description: "a name (default: ROLE-ID)" },
  },
  examples: [
    "slipway tokens:create --app shop --name ci-shop",
    "slipway tokens:create --app shop --app blog",
    "slipway tokens:create --role admin --name alice",
  ],
  async run(ctx, { flags }) {
    const apps = splitVariadic(flags.app)
      .flatMap((value) => value.split(","))
      .map((value) => value.trim())
      .filter((value) => value !== "");
    const role = flags.role ?? "deploy";
    if (role === "deploy" && apps.length === 0) {
      throw new UsageError("a deploy token needs at least one --app NAME", "tokens:create");
    }
    const created = await (
      await ctx.client()
    ).post<TokenView & { token: string }>("/v1/tokens", {
      role,
      ...(apps.length === 0 ? {} : { apps }),
      ...(flags.name === undefined ? {} : { name: flags.name }),
    });
    if (ctx.json) ctx.io.out(toJson(created));
    else {
      const scope = created.role === "admin" ? "every app" : created.apps.join(", ");
      ctx.io.out(
        [
          `Created ${created.role ?? "?"} token ${created.name} (${created.id}) for ${scope}.`,
          "The token is shown once; store it now (e.g. as a CI secret):",
          "",
          `  ${created.token}`,
          "",
        ].join("\n"),
      );
    }
    return 0;
  },
});

const tokensRevoke = defineCommand({
  name: "tokens:revoke",
  summary: "revoke an API token (by id or name); its SSH keys stop working too",
  args: [{ name: "ID", description: "token id (tok_...) or name" }],
  flags: {},
  examples: ["slipway tokens:revoke ci-shop"],
  async run(ctx, { args }) {
    await (await ctx.client()).delete(`/v1/tokens/${encodeURIComponent(args.ID)}`);
    if (ctx.json) ctx.io.out(toJson({ revoked: args.ID }));
    else ctx.io.out(`Revoked token ${args.ID}\n`);
    return 0;
  },
});

/** tokens, tokens:create, tokens:revoke. */
export const tokenCommands: readonly Command[] = [tokens, tokensCreate, tokensRevoke];

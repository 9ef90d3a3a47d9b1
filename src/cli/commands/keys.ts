import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { SshKeyRecord } from "../../store/store.ts";
import { UsageError } from "../errors.ts";
import { formatTime, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import type { Items } from "./common.ts";

const keys = defineCommand({
  name: "keys",
  summary: "list the SSH keys that may push over git+ssh",
  args: [],
  flags: {},
  examples: ["slipway keys"],
  async run(ctx) {
    const { items } = await (await ctx.client()).get<Items<SshKeyRecord>>("/v1/keys");
    if (ctx.json) ctx.io.out(toJson(items));
    else if (items.length === 0)
      ctx.io.out("No SSH keys. Add one with: slipway keys:add ~/.ssh/id_ed25519.pub\n");
    else
      ctx.io.out(
        table(items, [
          { header: "id", value: (k) => k.id },
          { header: "name", value: (k) => k.name },
          { header: "fingerprint", value: (k) => k.fingerprint },
          { header: "added", value: (k) => formatTime(k.createdAt) },
        ]),
      );
    return 0;
  },
});

const keysAdd = defineCommand({
  name: "keys:add",
  summary: "register an SSH public key for git pushes over SSH",
  description:
    "FILE is an OpenSSH public key (the .pub file); `-` reads it from stdin. Ed25519, ECDSA and RSA (2048 bits or more) keys are accepted.",
  args: [{ name: "FILE", description: "public key file, or - for stdin" }],
  flags: {
    name: {
      type: "string",
      placeholder: "NAME",
      description: "a name (default: the key's comment)",
    },
  },
  examples: ["slipway keys:add ~/.ssh/id_ed25519.pub", "slipway keys:add - < key.pub --name ci"],
  async run(ctx, { args, flags }) {
    let text: string;
    if (args.FILE === "-") text = await ctx.io.readStdin();
    else {
      try {
        text = await readFile(resolve(ctx.options.cwd, args.FILE), "utf8");
      } catch (error) {
        throw new UsageError(
          `cannot read ${args.FILE}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    const key = await (
      await ctx.client()
    ).post<SshKeyRecord>("/v1/keys", {
      publicKey: text,
      ...(flags.name === undefined ? {} : { name: flags.name }),
    });
    if (ctx.json) ctx.io.out(toJson(key));
    else ctx.io.out(`Added key ${key.id} (${key.fingerprint}, ${key.name})\n`);
    return 0;
  },
});

const keysRemove = defineCommand({
  name: "keys:remove",
  summary: "remove an SSH key (by id or fingerprint)",
  args: [{ name: "ID", description: "key id (key_...) or SHA256:... fingerprint" }],
  flags: {},
  examples: ["slipway keys:remove key_0123abcd"],
  async run(ctx, { args }) {
    await (await ctx.client()).delete(`/v1/keys/${encodeURIComponent(args.ID)}`);
    if (ctx.json) ctx.io.out(toJson({ removed: args.ID }));
    else ctx.io.out(`Removed key ${args.ID}\n`);
    return 0;
  },
});

/** keys, keys:add, keys:remove. */
export const keyCommands: readonly Command[] = [keys, keysAdd, keysRemove];

import { access, constants } from "node:fs/promises";
import { resolve } from "node:path";
import { isTokenShaped, type Credentials } from "../../security/tokens.ts";
import { ApiClient } from "../client.ts";
import { removeLoginCredentials, writeLoginCredentials } from "../credentials.ts";
import { ApiError, UsageError } from "../errors.ts";
import { toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

const login = defineCommand({
  name: "login",
  summary: "save the API address and a token for later commands",
  description: [
    "Check URL and TOKEN against the API and save them (with the CA, for a private",
    "certificate) in ~/.config/slipway/credentials.json, readable only by you.",
    "URL is https://HOST[:PORT], http:// on loopback only, or unix:/PATH for a local socket.",
    "Pass --token - to read the token from stdin and keep it out of your shell history.",
  ].join("\n"),
  args: [{ name: "URL", description: "where the API listens" }],
  flags: {
    token: {
      type: "string",
      placeholder: "TOKEN",
      required: true,
      description: "an API token (or - for stdin)",
    },
    ca: {
      type: "string",
      placeholder: "FILE",
      description: "PEM file of the CA that signed the API's certificate",
    },
  },
  examples: [
    "slipway login https://slipway.example.com --token swt_...",
    "slipway login unix:/var/lib/slipway/run/api.sock --token - < token.txt",
  ],
  async run(ctx, { args, flags }) {
    const token = flags.token === "-" ? (await ctx.io.readStdin()).trim() : flags.token;
    if (!isTokenShaped(token))
      throw new UsageError("that is not a Slipway token (swt_ and 43 characters)", "login");
    const ca =
      flags.ca === undefined ? null : await readableFile(resolve(ctx.options.cwd, flags.ca));
    const credentials: Credentials = { token, ca, ...endpointOf(args.URL, ctx.options.cwd) };

    try {
      await (await ApiClient.connect(credentials)).get("/v1/apps");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        throw new ApiError(401, `the API at ${args.URL} refused this token`, error.problem);
      }
      throw error;
    }
    const path = await writeLoginCredentials(ctx.options.configDir, credentials);
    ctx.io.out(
      ctx.json
        ? toJson({ url: credentials.url, socket: credentials.socket, ca, path })
        : `Logged in to ${args.URL}; credentials saved in ${path}\n`,
    );
    return 0;
  },
});

function endpointOf(value: string, cwd: string): Pick<Credentials, "url" | "socket"> {
  if (value.startsWith("unix:")) {
    const path = value.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "")
      throw new UsageError("unix: needs a socket path, as in unix:/run/slipway/api.sock", "login");
    return { url: null, socket: resolve(cwd, path) };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new UsageError(
      `${value} is not a URL: ${error instanceof Error ? error.message : String(error)}`,
      "login",
    );
  }
  if (url.protocol === "http:" && !LOOPBACK.has(url.hostname)) {
    throw new UsageError(
      "use https:// for a remote API: the token must not cross the network in clear",
      "login",
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(
      `unsupported URL scheme ${url.protocol} (use https:, or unix: for a socket)`,
      "login",
    );
  }
  return { url: url.href.replace(/\/$/, ""), socket: null };
}

async function readableFile(path: string): Promise<string> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    throw new UsageError(
      `cannot read the CA file ${path}: ${error instanceof Error ? error.message : String(error)}`,
      "login",
    );
  }
  return path;
}

const logout = defineCommand({
  name: "logout",
  summary: "forget the saved login (the token stays valid)",
  description: [
    "Remove what `slipway login` saved in ~/.config/slipway: credentials.json, and the copy",
    "of the token and the directory `slipway git:remote` keeps next to it for git. Commands",
    "and pushes to remotes added with git:remote then need a new login (or use this",
    "machine's own installation, as without a login). The token stays valid until it is",
    "revoked (`slipway tokens:revoke`). An installation's own credentials (--home,",
    "SLIPWAY_HOME) are not touched.",
  ].join("\n"),
  args: [],
  flags: {},
  examples: ["slipway logout"],
  async run(ctx) {
    const removed = await removeLoginCredentials(ctx.options.configDir);
    if (ctx.json) ctx.io.out(toJson({ removed }));
    else if (removed.length === 0)
      ctx.io.out(`Not logged in: nothing saved in ${ctx.options.configDir}\n`);
    else ctx.io.out(`Logged out; removed ${removed.join(", ")}\n`);
    return 0;
  },
});

/** login, logout. */
export const loginCommands: readonly Command[] = [login, logout];

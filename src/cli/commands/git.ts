import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import {
  credentialsPath,
  emptyCaPath,
  GIT_CREDENTIALS_FILE,
  locateCredentials,
  writeGitCredentials,
  type LocatedCredentials,
} from "../credentials.ts";
import { UsageError } from "../errors.ts";
import { toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath } from "./common.ts";

/** This CLI's entry point, which the credential helper runs (whoever ran this one). */
const ENTRY_POINT = join(import.meta.dirname, "..", "..", "..", "bin", "slipway.js");

/** The remote name `git:remote` adds unless told otherwise. */
const REMOTE = "slipway";

/** The git remote URL of an app on the API at apiUrl (https://slipway.DOMAIN[:PORT]). */
export function gitRemoteUrl(apiUrl: string, app: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/git/${encodeURIComponent(app)}.git`;
}

/**
 * The helper git runs for the remote. git asks it to `get` before a push and to `store`
 * after the push authenticated; only `get` has anything to do, so the shell answers the
 * others itself. `get` is answered by `git credential-store` from the copy of the token
 * next to the credentials (writeGitCredentials) while that copy is newer than the
 * credentials file (and, for a local installation read because nobody logged in, while
 * there is still no login): no Node.js starts, 0.07 s of every push. Otherwise this CLI
 * answers, from the same credentials as now, and writes the copy again.
 */
function credentialHelper(
  home: string | undefined,
  located: Pick<LocatedCredentials, "path" | "fallback">,
  loginFile: string,
): string {
  const cli = [process.execPath, ENTRY_POINT, "git:credential"];
  if (home !== undefined) cli.push("--home", home);
  const copy = join(dirname(located.path), GIT_CREDENTIALS_FILE);
  // (-nt alone is true for a missing second file in bash, which is /bin/sh on some systems.)
  const fresh = [
    ...(located.fallback ? [`test ! -e ${shellWord(loginFile)}`] : []),
    `test -f ${shellWord(located.path)}`,
    `test ${shellWord(copy)} -nt ${shellWord(located.path)}`,
  ].join(" && ");
  return [
    `!f() { test "$1" = get || exit 0;`,
    `${fresh} && exec git credential-store --file=${shellWord(copy)} get;`,
    `exec ${cli.map(shellWord).join(" ")} get; }; f`,
  ].join(" ");
}

/** A shell word for git's `!command` helper syntax. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

function git(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else
        reject(new UsageError(`git ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
    });
  });
}

const gitRemote = defineCommand({
  name: "git:remote",
  summary: "add the app's git remote to the repository in the current directory",
  description: [
    "Adds (or updates) the remote `slipway` pointing at https://slipway.DOMAIN/git/APP.git,",
    "and configures, for that URL only, the Slipway CA (trusted alone: sslCAPath names the",
    "empty directory `git-capath` next to the credentials file) and a credential helper that",
    "hands git the API token from this CLI's credentials: the token is never written into",
    ".git/config.",
    "The helper reads a copy of the token in git's credential-store format, `git-credentials`",
    "next to the credentials file (mode 0600), while it is newer than them, and otherwise",
    "asks `slipway git:credential`, which writes the copy again. Then: git push slipway main",
  ].join("\n"),
  args: [],
  flags: {
    app: APP_FLAG,
    remote: { type: "string", placeholder: "NAME", description: "remote name (default: slipway)" },
  },
  examples: ["slipway git:remote --app shop", "git push slipway main"],
  async run(ctx, { flags }) {
    const located = await locateCredentials(ctx.options);
    const { credentials } = located;
    if (credentials.url === null) {
      throw new UsageError(
        "the credentials name no https URL of the API; log in with `slipway login https://slipway.DOMAIN --token TOKEN`",
      );
    }
    const cwd = ctx.options.cwd;
    await git(cwd, ["rev-parse", "--git-dir"]);
    const name = flags.remote ?? REMOTE;
    const url = gitRemoteUrl(credentials.url, flags.app);
    const remotes = (await git(cwd, ["remote"])).split("\n");
    await git(
      cwd,
      remotes.includes(name) ? ["remote", "set-url", name, url] : ["remote", "add", name, url],
    );
    await git(cwd, ["config", "--replace-all", `credential.${url}.helper`, ""]);
    await git(cwd, [
      "config",
      "--add",
      `credential.${url}.helper`,
      credentialHelper(ctx.options.home, located, credentialsPath(ctx.options)),
    ]);
    await writeGitCredentials(located.path, credentials);
    if (credentials.ca !== null) {
      await git(cwd, ["config", `http.${url}.sslCAInfo`, credentials.ca]);
      // That CA alone, and no reading of the system's certificates at every connection.
      const caPath = await emptyCaPath(located.path);
      if (caPath !== null) await git(cwd, ["config", `http.${url}.sslCAPath`, caPath]);
    }
    if (ctx.json) ctx.io.out(toJson({ remote: name, url }));
    else ctx.io.out(`Added remote ${name} → ${url}\nDeploy with: git push ${name} main\n`);
    return 0;
  },
});

const gitCredential = defineCommand({
  name: "git:credential",
  summary: "git credential helper: print the API token for a Slipway remote",
  description: [
    "Speaks git's credential-helper protocol (gitcredentials(7)); `slipway git:remote`",
    "configures it. `get` prints the token of this CLI's credentials as the password when",
    "git asks for the host of the API, and refreshes the `git-credentials` copy next to the",
    "credentials that the helper reads first; `store` and `erase` do nothing.",
  ].join("\n"),
  args: [{ name: "OPERATION", description: "get, store or erase (git passes it)" }],
  flags: {},
  examples: [
    "printf 'protocol=https\\nhost=slipway.example.com\\n\\n' | slipway git:credential get",
  ],
  async run(ctx, { args }) {
    const input = await ctx.io.readStdin();
    if (args.OPERATION !== "get") return 0;
    const { credentials, path } = await locateCredentials(ctx.options);
    if (credentials.url === null) return 0;
    const wanted = new URL(credentials.url);
    const asked = Object.fromEntries(
      input
        .split("\n")
        .map((line) => line.split("=", 2))
        .filter((pair): pair is [string, string] => pair.length === 2),
    );
    // Answer only for the API's own host: never hand the token to another server.
    if (asked.protocol !== "https" || asked.host !== wanted.host) return 0;
    ctx.io.out(`username=slipway\npassword=${credentials.token}\n`);
    // The helper asked because the copy is missing or older than the credentials.
    await writeGitCredentials(path, credentials);
    return 0;
  },
});

interface GitSettings {
  readonly deployBranch: string | null;
  readonly branches: readonly string[];
}

const gitBranch = defineCommand({
  name: "git:branch",
  summary: "show or set the branch whose push deploys the app",
  description: [
    "Without BRANCH, shows the app's deploy branches. With BRANCH, a push of that branch",
    "deploys (and so does main: `git push slipway feature:main` keeps working); pushes of",
    "other branches are refused with a `remote:` message. `--reset` goes back to the",
    "default: main or master.",
  ].join("\n"),
  args: [{ name: "BRANCH", description: "the deploy branch, e.g. production", optional: true }],
  flags: {
    app: APP_FLAG,
    reset: { type: "boolean", description: "deploy main or master again (the default)" },
  },
  examples: ["slipway git:branch production --app shop", "slipway git:branch --app shop"],
  async run(ctx, { args, flags }) {
    if (flags.reset && args.BRANCH !== undefined) {
      throw new UsageError("give BRANCH or --reset, not both", "git:branch");
    }
    const client = await ctx.client();
    const path = appPath(flags.app, "/git");
    const settings =
      args.BRANCH === undefined && !flags.reset
        ? await client.get<GitSettings>(path)
        : await client.post<GitSettings>(path, { deployBranch: args.BRANCH ?? "" });
    if (ctx.json) ctx.io.out(toJson(settings));
    else {
      const which = settings.branches.join(" or ");
      ctx.io.out(
        settings.deployBranch === null
          ? `${flags.app} deploys pushes of ${which} (the default)\n`
          : `${flags.app} deploys pushes of ${which}\n`,
      );
    }
    return 0;
  },
});

/** git:remote, git:credential. */
export const gitCommands: readonly Command[] = [gitRemote, gitBranch, gitCredential];

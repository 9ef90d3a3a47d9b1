/**
 * The forced command of every SSH key: `node git-shell.ts SOCKET KEY_ID`. sshd puts what
 * the client asked to run in SSH_ORIGINAL_COMMAND; the daemon decides (a git service on an
 * app the key may deploy, nothing else) and answers with the git command line to run.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";

interface Verdict {
  readonly ok: boolean;
  readonly message?: string;
  readonly args?: string[];
  readonly env?: Record<string, string>;
}

function ask(socketPath: string, keyId: string, command: string): Promise<Verdict> {
  return new Promise((resolve) => {
    const req = request(
      {
        socketPath,
        method: "POST",
        path: "/ssh/sessions",
        host: "slipway-hook",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          try {
            resolve(JSON.parse(body) as Verdict);
          } catch {
            resolve({ ok: false, message: "the platform gave no answer" });
          }
        });
      },
    );
    req.on("error", (error) => {
      resolve({ ok: false, message: `the platform is not reachable: ${error.message}` });
    });
    req.end(JSON.stringify({ keyId, command }));
  });
}

async function main(): Promise<number> {
  const [socketPath, keyId] = process.argv.slice(2);
  if (socketPath === undefined || keyId === undefined) return 1;
  const verdict = await ask(socketPath, keyId, process.env.SSH_ORIGINAL_COMMAND ?? "");
  if (!verdict.ok || verdict.args === undefined) {
    process.stderr.write(`slipway: ${verdict.message ?? "refused"}\n`);
    return 1;
  }
  const child = spawn("git", verdict.args, {
    stdio: "inherit",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...verdict.env },
  });
  return new Promise((resolve) => {
    child.once("error", () => {
      resolve(1);
    });
    child.once("close", (code) => {
      resolve(code ?? 1);
    });
  });
}

process.exitCode = await main();

/**
 * The hook side of the push conversation (src/git/hook-protocol.ts): stream the pushed
 * commit as a tar.gz to the daemon and relay what it says to the pusher (stderr, which git
 * sends back as "remote:" lines).
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { createInterface } from "node:readline";
import { parseHookLine, type HookResult } from "./hook-protocol.ts";
import type { RefUpdate } from "./push-plan.ts";

/** Prints a line for the pusher. */
export function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Streams `git archive` of the commit to the daemon and relays its answer. */
export function deployCommit(
  socketPath: string,
  pushId: string,
  update: RefUpdate,
): Promise<HookResult> {
  return new Promise((resolve) => {
    const archive = spawn("git", ["archive", "--format=tar.gz", update.newSha], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const query = new URLSearchParams({ ref: update.ref, commit: update.newSha });
    const req = request(
      {
        socketPath,
        method: "POST",
        path: `/pushes/${encodeURIComponent(pushId)}/deploy?${query.toString()}`,
        headers: { "content-type": "application/gzip", host: "slipway-hook" },
      },
      (res) => {
        let result: HookResult | undefined;
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        lines.on("line", (line) => {
          const parsed = parseHookLine(line);
          if (parsed.kind === "output") say(parsed.text);
          else if (parsed.kind === "result") result = parsed.result;
        });
        lines.on("close", () => {
          // The verdict may come before the whole archive was sent (an archive over the
          // limit): stop sending, or git archive and the socket keep this hook alive.
          archive.kill();
          req.destroy();
          resolve(
            result ??
              (res.statusCode === 200
                ? { ok: false, reason: "the platform ended the push without a verdict" }
                : { ok: false, reason: `the platform answered ${String(res.statusCode)}` }),
          );
        });
      },
    );
    req.on("error", (error) => {
      archive.kill();
      resolve({ ok: false, reason: `cannot reach the platform: ${error.message}` });
    });
    archive.on("exit", (code) => {
      if (code !== 0) {
        req.destroy(new Error(`git archive exited with ${String(code)}`));
      }
    });
    archive.stdout.pipe(req);
  });
}

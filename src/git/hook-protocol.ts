/**
 * The conversation between the proc-receive hook (a child of `git receive-pack`) and the
 * daemon, over a private unix socket: the hook POSTs the pushed commit as a tar.gz to
 * /pushes/ID/deploy; the daemon answers with text lines, "L text" for output the pusher
 * sees and one final "R ok" or "R fail REASON". Tagging every line means nothing a build
 * prints can pass for the verdict.
 */

/** Environment variables receive-pack passes down to the hook. */
export const HOOK_ENV = {
  /** Unix socket of the daemon's hook endpoint. */
  socket: "SLIPWAY_PUSH_SOCKET",
  /** One-time id of this push (a 256-bit secret known only to the daemon and this push). */
  pushId: "SLIPWAY_PUSH_ID",
  /** The app's deploy branches, comma-separated (src/git/deploy-branch.ts). */
  branches: "SLIPWAY_DEPLOY_BRANCHES",
} as const;

/** The verdict at the end of a hook response. */
export type HookResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** One output line for the pusher. */
export function outputLine(text: string): string {
  return `L ${text.replaceAll("\n", " ")}`;
}

/** The final line. */
export function resultLine(result: HookResult): string {
  return result.ok ? "R ok" : `R fail ${result.reason.replaceAll("\n", " ")}`;
}

/** A decoded response line: output, the verdict, or a line that follows no rule (ignored). */
export type HookLine =
  | { readonly kind: "output"; readonly text: string }
  | { readonly kind: "result"; readonly result: HookResult }
  | { readonly kind: "unknown" };

/** Decodes one line of a hook response. */
export function parseHookLine(line: string): HookLine {
  if (line.startsWith("L ")) return { kind: "output", text: line.slice(2) };
  if (line === "R ok") return { kind: "result", result: { ok: true } };
  if (line.startsWith("R fail ")) {
    return { kind: "result", result: { ok: false, reason: line.slice("R fail ".length) } };
  }
  return { kind: "unknown" };
}

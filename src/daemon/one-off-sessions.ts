import type { TerminalSize } from "../api/runtime-deps.ts";
import { NotFoundError } from "../domain/errors.ts";

/** How many ended sessions keep their exit code for a late `oneOffExit`. */
const KEEP_ENDED = 200;

interface Session {
  readonly appId: string;
  readonly size: TerminalSize;
  state: "waiting" | "attached" | "ended";
  exitCode: number;
  readonly ended: Promise<void>;
  end: () => void;
}

/**
 * The interactive one-offs of this daemon: created and waiting for a terminal, attached,
 * or ended with an exit code (kept for the client's last question, a bounded number of
 * them). In memory on purpose: a session lives on a connection to this process.
 */
export class OneOffSessions {
  readonly #sessions = new Map<string, Session>();

  open(appId: string, id: string, size: TerminalSize): void {
    let end = (): void => undefined;
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    this.#sessions.set(id, { appId, size, state: "waiting", exitCode: -1, ended, end });
  }

  isOpen(id: string): boolean {
    return this.#sessions.get(id)?.state === "waiting";
  }

  /** The terminal size the client asked for. */
  size(id: string): TerminalSize | undefined {
    return this.#sessions.get(id)?.size;
  }

  attach(id: string): void {
    const session = this.#sessions.get(id);
    if (session !== undefined) session.state = "attached";
  }

  close(appId: string, id: string, exitCode: number): void {
    const session = this.#sessions.get(id);
    if (session?.appId !== appId || session.state === "ended") return;
    session.state = "ended";
    session.exitCode = exitCode;
    session.end();
    const ended = [...this.#sessions].filter(([, s]) => s.state === "ended");
    for (const [old] of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED)))
      this.#sessions.delete(old);
  }

  /** Waits until the session ended and returns its exit code. */
  async exitCode(appId: string, id: string, signal: AbortSignal): Promise<number> {
    const session = this.#sessions.get(id);
    if (session?.appId !== appId) throw new NotFoundError("one-off", id);
    await Promise.race([
      session.ended,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason as Error);
        signal.addEventListener(
          "abort",
          () => {
            reject(signal.reason as Error);
          },
          { once: true },
        );
      }),
    ]);
    return session.exitCode;
  }
}

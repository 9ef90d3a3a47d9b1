import { spawn, type ChildProcess, type ChildProcessByStdio } from "node:child_process";
import type { Duplex, Readable, Writable } from "node:stream";

/**
 * Processes started ahead of time.
 *
 * child_process.spawn forks the calling process, and the kernel copies its page tables
 * while the event loop waits: 4-5 ms in the daemon (about 200 MB resident), 0.9 ms in a
 * 50 MB process. A warm `git push` starts git four times and iptables three times on its
 * way to serving. A Launcher keeps a few shells started while nothing waits, each blocked
 * reading its control pipe (fd 5); launch() writes the command there, and the shell
 * closes the control pipe, changes directory, sets the environment and execs the program.
 * The program then is that child: its pipes, pid, exit code and signals. With no shell
 * ready (or with arguments a line cannot carry), launch() spawns as usual.
 */
export interface LaunchOptions {
  readonly cwd?: string;
  /** The program's whole environment: a shell started ahead has none of its own. */
  readonly env: Readonly<Record<string, string>>;
  /** Pipes for stdin, stdout and stderr (3), or two more as fds 3 and 4 (5). Default 3. */
  readonly pipes?: 3 | 5;
}

/** A launched program: stdin, stdout and stderr are always pipes. */
export type LaunchedChild = ChildProcessByStdio<Writable, Readable, Readable>;

export interface ProcessLauncher {
  launch(command: string, args: readonly string[], options: LaunchOptions): LaunchedChild;
}

/** Reads the command from fd 5, then execs it. dash and bash read a pipe byte by byte. */
const SHELL_SCRIPT = [
  "IFS= read -r dir <&5 || exit 126",
  "IFS= read -r n <&5 || exit 126",
  'while [ "$n" -gt 0 ]; do IFS= read -r kv <&5 || exit 126; export "$kv"; n=$((n - 1)); done',
  "IFS= read -r n <&5 || exit 126",
  "set --",
  'while [ "$n" -gt 0 ]; do IFS= read -r a <&5 || exit 126; set -- "$@" "$a"; n=$((n - 1)); done',
  "IFS= read -r pipes <&5 || exit 126",
  "exec 5<&-",
  'if [ "$pipes" = 3 ]; then exec 3>&- 4>&-; fi',
  'cd "$dir" || exit 126',
  "unset OLDPWD",
  'exec "$@"',
].join("\n");

const SHELL_STDIO = ["pipe", "pipe", "pipe", "pipe", "pipe", "pipe"] as const;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The request a started shell reads, or undefined when a line cannot carry it. */
export function launchRequest(
  command: string,
  args: readonly string[],
  options: LaunchOptions,
): string | undefined {
  const env = Object.entries(options.env);
  const words = [options.cwd ?? "/", command, ...args, ...env.flat()];
  if (words.some((word) => /[\n\0]/.test(word)) || env.some(([name]) => !NAME.test(name))) {
    return undefined;
  }
  return [
    options.cwd ?? "/",
    String(env.length),
    ...env.map(([name, value]) => `${name}=${value}`),
    String(args.length + 1),
    command,
    ...args,
    String(options.pipes ?? 3),
    "",
  ].join("\n");
}

export class Launcher implements ProcessLauncher {
  readonly #size: number;
  readonly #refillDelayMs: number;
  readonly #shell: string;
  #idle: ChildProcess[] = [];
  #refill: NodeJS.Timeout | undefined;
  #closed = false;

  /**
   * Keeps `size` shells ready (0: always spawn). Shells taken are replaced `refillDelayMs`
   * after the last launch, so that the forks happen between pushes, not during one.
   */
  constructor(options: { size: number; refillDelayMs?: number; shell?: string }) {
    this.#size = options.size;
    this.#refillDelayMs = options.refillDelayMs ?? 500;
    this.#shell = options.shell ?? "/bin/sh";
    this.#fill();
  }

  /** How many shells are ready. */
  get ready(): number {
    return this.#idle.length;
  }

  launch(command: string, args: readonly string[], options: LaunchOptions): LaunchedChild {
    const request = launchRequest(command, args, options);
    const shell = request === undefined ? undefined : this.#take();
    if (shell === undefined || request === undefined) {
      return spawn(command, [...args], {
        cwd: options.cwd ?? "/",
        env: options.env,
        stdio: options.pipes === 5 ? ["pipe", "pipe", "pipe", "pipe", "pipe"] : "pipe",
      });
    }
    this.#scheduleRefill();
    const control = (shell.stdio as readonly unknown[])[5] as Duplex;
    control.on("error", () => undefined);
    control.end(request);
    // Read to its end (the shell closes it before the exec), so that it closes here too.
    control.resume();
    if (options.pipes !== 5) {
      for (const fd of [3, 4]) shell.stdio[fd]?.destroy();
    }
    return shell as LaunchedChild;
  }

  /** Stops the ready shells (they exit at the end of their control pipe). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#refill);
    for (const shell of this.#idle.splice(0)) {
      for (const stream of shell.stdio) stream?.destroy();
      shell.kill("SIGKILL");
    }
  }

  #take(): ChildProcess | undefined {
    for (;;) {
      const shell = this.#idle.shift();
      if (shell === undefined) return undefined;
      if (shell.exitCode === null && shell.signalCode === null && shell.pid !== undefined) {
        shell.ref();
        for (const stream of shell.stdio) refStream(stream, true);
        return shell;
      }
    }
  }

  #scheduleRefill(): void {
    clearTimeout(this.#refill);
    this.#refill = setTimeout(() => {
      this.#fill();
    }, this.#refillDelayMs);
    this.#refill.unref();
  }

  #fill(): void {
    while (!this.#closed && this.#idle.length < this.#size) {
      const shell = spawn(this.#shell, ["-c", SHELL_SCRIPT], {
        cwd: "/",
        env: {},
        stdio: [...SHELL_STDIO],
      });
      // A shell that fails to start (or dies) is dropped when its turn comes.
      shell.on("error", () => undefined);
      for (const stream of shell.stdio) stream?.on("error", () => undefined);
      // Waiting shells keep nothing alive.
      shell.unref();
      for (const stream of shell.stdio) refStream(stream, false);
      this.#idle.push(shell);
    }
  }
}

/** Plain spawns, for processes that start few programs (the CLI, tests). */
export const spawnLauncher: ProcessLauncher = new Launcher({ size: 0 });

/** A pipe's handle, which node:net sockets expose to (un)ref the event loop's hold. */
function refStream(stream: unknown, hold: boolean): void {
  const socket = stream as { ref?: () => void; unref?: () => void } | null;
  if (hold) socket?.ref?.();
  else socket?.unref?.();
}

/** What a program printed and how it ended. */
export interface Completed {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a program to its end with no input, like execFile: resolves with its output
 * whatever its exit code (the caller judges), rejects only when it could not run at all.
 * Killed after timeoutMs.
 */
export function runProgram(
  launcher: ProcessLauncher,
  command: string,
  args: readonly string[],
  options: LaunchOptions & { readonly timeoutMs: number },
): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = launcher.launch(command, args, options);
    let stdout = "";
    let stderr = "";
    child.stdin.end();
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

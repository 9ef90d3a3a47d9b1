import type { Readable, Writable } from "node:stream";

/** Where a command writes and reads; the process's streams in production, memory in tests. */
export interface CliIo {
  /** Writes to stdout: results and, without --json, build logs. */
  out(text: string): void;
  /** Writes to stderr: progress, warnings and errors. */
  err(text: string): void;
  /** Whether stderr is a terminal (progress lines redraw in place only there). */
  readonly errIsTTY: boolean;
  /** All of stdin, for secrets passed through a pipe rather than argv. */
  readStdin(): Promise<string>;
  /** Present when stdin and stdout are both a terminal (`slipway run` is interactive). */
  readonly terminal?: Terminal;
}

/** The user's terminal, for an interactive one-off. */
export interface Terminal {
  readonly input: Readable;
  readonly output: Writable;
  size(): { readonly rows: number; readonly cols: number };
  /** Switches the input to raw mode; the returned function switches it back. */
  raw(): () => void;
  /** Calls listener whenever the terminal is resized; returns an unsubscribe function. */
  onResize(listener: () => void): () => void;
}

/** The real process streams. */
export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    errIsTTY: process.stderr.isTTY,
    async readStdin() {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks).toString("utf8");
    },
    ...(process.stdin.isTTY && process.stdout.isTTY ? { terminal: processTerminal() } : {}),
  };
}

function processTerminal(): Terminal {
  const { stdin, stdout } = process;
  return {
    input: stdin,
    output: stdout,
    size: () => ({ rows: stdout.rows, cols: stdout.columns }),
    raw() {
      stdin.setRawMode(true);
      return () => {
        stdin.setRawMode(false);
        stdin.pause();
      };
    },
    onResize(listener) {
      stdout.on("resize", listener);
      return () => stdout.off("resize", listener);
    },
  };
}

/** An in-memory CliIo that records output, for tests. */
export interface MemoryIo extends CliIo {
  readonly stdout: string;
  readonly stderr: string;
}

/** Creates a MemoryIo; stdin is the given text. */
export function memoryIo(stdin = ""): MemoryIo {
  let stdout = "";
  let stderr = "";
  return {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    errIsTTY: false,
    readStdin: () => Promise.resolve(stdin),
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

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

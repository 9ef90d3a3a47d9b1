import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { DriverError } from "../domain/errors.ts";

/** How to run a host command for the stack builder. */
export interface CommandOptions {
  /** Receives each output line (stdout and stderr) that passes `filter`. */
  readonly log: (line: string) => void;
  /** Lines for which this returns false are not logged (still kept for error messages). */
  readonly filter?: (line: string) => boolean;
  readonly env?: Readonly<Record<string, string>>;
  /** Written to the command's stdin, then closed. */
  readonly input?: string;
  readonly signal?: AbortSignal;
}

const TAIL_LINES = 15;

/**
 * Runs a command to completion, streaming its output line by line. Throws DriverError
 * (component "stack") with the last lines of output when it exits non-zero or is aborted.
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<void> {
  options.signal?.throwIfAborted();
  const child = spawn(command, args, {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...options.env, PATH: options.env?.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    ...(options.signal ? { signal: options.signal, killSignal: "SIGTERM" as const } : {}),
  });
  const tail: string[] = [];
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (options.filter?.(line) ?? true) options.log(line);
  };
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  // A command that exits without reading all its input closes the pipe (EPIPE): its exit
  // code and output say what went wrong, so that error is only noted in the log.
  child.stdin.on("error", (error) => {
    options.log(`(${command} did not read all its input: ${error.message})`);
  });
  child.stdin.end(options.input ?? "");
  const outputs = [pumpLines(child.stdout, onLine), pumpLines(child.stderr, onLine)];

  let code: number | null;
  try {
    [code] = await Promise.all([exit, ...outputs]);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new DriverError("stack", `${command} failed: ${describe(error)}`, { cause: error });
  }
  if (code !== 0) {
    throw new DriverError(
      "stack",
      `${[command, ...args].join(" ")} exited with ${String(code)}:\n${tail.join("\n")}`,
    );
  }
}

async function pumpLines(stream: Readable, onLine: (line: string) => void): Promise<void> {
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    onLine(line);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

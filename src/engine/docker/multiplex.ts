import { DriverError } from "../../domain/errors.ts";
import type { LogLine } from "../engine.ts";

/**
 * Docker's multiplexed stream format (logs and attach of containers without a TTY): each
 * frame is an 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr), three zero
 * bytes, payload length as a big-endian uint32 — then the payload. Frames do not follow
 * lines and a network chunk may end anywhere inside one, so decoding keeps state.
 * Pure: no I/O, fed with Buffers.
 */
export interface Frame {
  readonly stream: LogLine["stream"];
  readonly payload: Buffer;
}

const HEADER_BYTES = 8;

/** Incremental frame decoder: push chunks in, get whole frames out. */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  /** Feeds one chunk; returns the frames it completed (possibly none). */
  push(chunk: Buffer): Frame[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    while (this.#pending.length >= HEADER_BYTES) {
      const type = this.#pending.readUInt8(0);
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.length < HEADER_BYTES + size) break;
      frames.push({
        stream: streamOf(type),
        payload: this.#pending.subarray(HEADER_BYTES, HEADER_BYTES + size),
      });
      this.#pending = this.#pending.subarray(HEADER_BYTES + size);
    }
    return frames;
  }

  /** Declares the input finished; a half-received frame means the stream was cut. */
  end(): void {
    if (this.#pending.length > 0) {
      throw new DriverError(
        "engine",
        `log stream ended inside a frame (${this.#pending.length} bytes left over)`,
      );
    }
  }
}

function streamOf(type: number): LogLine["stream"] {
  switch (type) {
    case 0: // stdin is echoed on stdout (Docker API documentation)
    case 1:
      return "stdout";
    case 2:
      return "stderr";
    default:
      throw new DriverError("engine", `log stream has an unknown frame type ${type}`);
  }
}

/**
 * The longest line a stream yields: a longer one (a container that prints without
 * newlines) comes in pieces of this length, so that it cannot fill the daemon's memory.
 * A build's end marker line carries up to 4 MiB of output (buildpacks/_runner/build.sh).
 */
export const MAX_LINE_CHARS = 8 * 1024 * 1024;

/**
 * Reassembles lines per stream. A line split over several frames is joined; a final
 * line without a newline is flushed by end(). "\r\n" endings lose their "\r". Only each
 * new frame is searched for newlines (a long line's pieces wait in a list).
 */
export class LineSplitter {
  readonly #pending: Record<LogLine["stream"], { pieces: string[]; chars: number }> = {
    stdout: { pieces: [], chars: 0 },
    stderr: { pieces: [], chars: 0 },
  };
  readonly #decoders = {
    stdout: new TextDecoder("utf-8"),
    stderr: new TextDecoder("utf-8"),
  };

  /** Feeds one frame; returns the lines it completed. */
  push(frame: Frame): LogLine[] {
    // A streaming decoder per stream, so a UTF-8 character cut between frames survives.
    const text = this.#decoders[frame.stream].decode(frame.payload, { stream: true });
    return this.#add(frame.stream, text);
  }

  /** Returns the unterminated last lines, stdout first. */
  end(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      lines.push(...this.#add(stream, this.#decoders[stream].decode()));
      const rest = this.#take(stream);
      if (rest !== "") lines.push({ stream, line: stripCr(rest) });
    }
    return lines;
  }

  #add(stream: LogLine["stream"], text: string): LogLine[] {
    const pending = this.#pending[stream];
    const parts = text.split("\n");
    const last = parts.pop() ?? "";
    const lines: LogLine[] = [];
    for (const part of parts) {
      pending.pieces.push(part);
      lines.push({ stream, line: stripCr(this.#take(stream)) });
    }
    pending.pieces.push(last);
    pending.chars += last.length;
    while (pending.chars >= MAX_LINE_CHARS) {
      const whole = this.#take(stream);
      lines.push({ stream, line: whole.slice(0, MAX_LINE_CHARS) });
      pending.pieces.push(whole.slice(MAX_LINE_CHARS));
      pending.chars = whole.length - MAX_LINE_CHARS;
    }
    return lines;
  }

  #take(stream: LogLine["stream"]): string {
    const pending = this.#pending[stream];
    const whole = pending.pieces.join("");
    pending.pieces = [];
    pending.chars = 0;
    return whole;
  }
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Decodes a multiplexed byte stream into lines, as they complete. */
export async function* demultiplexLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<LogLine> {
  const frames = new FrameDecoder();
  const lines = new LineSplitter();
  for await (const chunk of chunks) {
    for (const frame of frames.push(chunk)) yield* lines.push(frame);
  }
  frames.end();
  yield* lines.end();
}

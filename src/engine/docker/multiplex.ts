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
 * Reassembles lines per stream. A line split over several frames is joined; a final
 * line without a newline is flushed by end(). "\r\n" endings lose their "\r".
 */
export class LineSplitter {
  readonly #partial: Record<LogLine["stream"], string> = { stdout: "", stderr: "" };
  readonly #decoders = {
    stdout: new TextDecoder("utf-8"),
    stderr: new TextDecoder("utf-8"),
  };

  /** Feeds one frame; returns the lines it completed. */
  push(frame: Frame): LogLine[] {
    // A streaming decoder per stream, so a UTF-8 character cut between frames survives.
    const text =
      this.#partial[frame.stream] +
      this.#decoders[frame.stream].decode(frame.payload, { stream: true });
    const parts = text.split("\n");
    this.#partial[frame.stream] = parts.pop() ?? "";
    return parts.map((line) => ({ stream: frame.stream, line: stripCr(line) }));
  }

  /** Returns the unterminated last lines, stdout first. */
  end(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.#partial[stream] + this.#decoders[stream].decode();
      if (rest !== "") lines.push({ stream, line: stripCr(rest) });
      this.#partial[stream] = "";
    }
    return lines;
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

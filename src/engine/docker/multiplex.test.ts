import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import type { LogLine } from "../engine.ts";
import { demultiplexLines, FrameDecoder, LineSplitter, MAX_LINE_CHARS } from "./multiplex.ts";

function frame(type: number, text: string | Buffer): Buffer {
  const payload = typeof text === "string" ? Buffer.from(text) : text;
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function* chunksOf(...chunks: Buffer[]): AsyncGenerator<Buffer> {
  await Promise.resolve();
  yield* chunks;
}

async function collect(source: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of source) out.push(line);
  return out;
}

describe("FrameDecoder", () => {
  it("decodes consecutive frames from one chunk", () => {
    const decoder = new FrameDecoder();
    const frames = decoder.push(Buffer.concat([frame(1, "out\n"), frame(2, "err\n")]));
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        ["stdout", "out\n"],
        ["stderr", "err\n"],
      ],
    );
    decoder.end();
  });

  it("waits for the rest of a frame split anywhere, even inside the header", () => {
    const bytes = Buffer.concat([frame(1, "hello\n"), frame(2, "world\n")]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = new FrameDecoder();
      const frames = [
        ...decoder.push(bytes.subarray(0, cut)),
        ...decoder.push(bytes.subarray(cut)),
      ];
      assert.deepEqual(
        frames.map((f) => f.payload.toString()),
        ["hello\n", "world\n"],
        `cut at ${cut}`,
      );
      decoder.end();
    }
  });

  it("treats stdin frames as stdout and accepts empty frames", () => {
    const frames = new FrameDecoder().push(Buffer.concat([frame(0, "in"), frame(1, "")]));
    assert.deepEqual(
      frames.map((f) => f.stream),
      ["stdout", "stdout"],
    );
  });

  it("rejects an unknown stream type", () => {
    assert.throws(() => new FrameDecoder().push(frame(7, "x")), DriverError);
  });

  it("reports a stream cut inside a frame", () => {
    const decoder = new FrameDecoder();
    decoder.push(frame(1, "complete").subarray(0, 10));
    assert.throws(() => {
      decoder.end();
    }, /ended inside a frame/);
  });
});

describe("LineSplitter", () => {
  it("joins a line spread over frames and keeps streams apart", () => {
    const splitter = new LineSplitter();
    const out = [
      ...splitter.push({ stream: "stdout", payload: Buffer.from("par") }),
      ...splitter.push({ stream: "stderr", payload: Buffer.from("oops\n") }),
      ...splitter.push({ stream: "stdout", payload: Buffer.from("tial\r\nnext") }),
      ...splitter.end(),
    ];
    assert.deepEqual(out, [
      { stream: "stderr", line: "oops" },
      { stream: "stdout", line: "partial" },
      { stream: "stdout", line: "next" },
    ]);
  });

  it("keeps a UTF-8 character cut between two frames", () => {
    const bytes = Buffer.from("né\n");
    const splitter = new LineSplitter();
    const out = [
      ...splitter.push({ stream: "stdout", payload: bytes.subarray(0, 2) }),
      ...splitter.push({ stream: "stdout", payload: bytes.subarray(2) }),
    ];
    assert.deepEqual(out, [{ stream: "stdout", line: "né" }]);
  });

  it("joins a long line from many frames, and cuts one past MAX_LINE_CHARS into pieces", () => {
    const splitter = new LineSplitter();
    const chunk = "x".repeat(64 * 1024);
    const lines: LogLine[] = [];
    // 4 MiB in 64 frames, then its newline: one line.
    for (let i = 0; i < 64; i++)
      lines.push(...splitter.push({ stream: "stdout", payload: Buffer.from(chunk) }));
    lines.push(...splitter.push({ stream: "stdout", payload: Buffer.from("\n") }));
    assert.deepEqual(
      lines.map((l) => l.line.length),
      [64 * chunk.length],
    );
    // Past the limit without a newline: a piece of exactly the limit, the rest goes on.
    const long: LogLine[] = [];
    const frames = MAX_LINE_CHARS / chunk.length + 2;
    for (let i = 0; i < frames; i++)
      long.push(...splitter.push({ stream: "stdout", payload: Buffer.from(chunk) }));
    long.push(...splitter.end());
    assert.deepEqual(
      long.map((l) => l.line.length),
      [MAX_LINE_CHARS, 2 * chunk.length],
    );
  });
});

describe("demultiplexLines", () => {
  it("turns a chunked multiplexed stream into lines", async () => {
    const bytes = Buffer.concat([frame(1, "a\nb"), frame(2, "e\n"), frame(1, "\nlast")]);
    const lines = await collect(
      demultiplexLines(chunksOf(bytes.subarray(0, 5), bytes.subarray(5))),
    );
    assert.deepEqual(lines, [
      { stream: "stdout", line: "a" },
      { stream: "stderr", line: "e" },
      { stream: "stdout", line: "b" },
      { stream: "stdout", line: "last" },
    ]);
  });
});

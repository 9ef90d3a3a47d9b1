import type { Readable } from "node:stream";

/**
 * Reads pkt-lines from a stream as they arrive (a hook talks with git in turns, so it
 * cannot wait for the end of its input). section() returns the text lines up to the next
 * flush, without their trailing newline.
 */
export class PktReader {
  readonly #stream: AsyncIterator<Buffer>;
  #buffer = Buffer.alloc(0);

  constructor(stream: Readable) {
    this.#stream = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async #fill(bytes: number): Promise<boolean> {
    while (this.#buffer.length < bytes) {
      const next = await this.#stream.next();
      if (next.done === true) return false;
      this.#buffer = Buffer.concat([this.#buffer, next.value]);
    }
    return true;
  }

  /** The next packet's payload, null for a flush, undefined at the end of the stream. */
  async packet(): Promise<Buffer | null | undefined> {
    if (!(await this.#fill(4))) return undefined;
    const header = this.#buffer.toString("ascii", 0, 4);
    if (!/^[0-9a-f]{4}$/.test(header)) throw new RangeError(`bad pkt-line length "${header}"`);
    const length = Number.parseInt(header, 16);
    if (length < 4) {
      this.#buffer = this.#buffer.subarray(4);
      return null;
    }
    if (!(await this.#fill(length))) throw new RangeError("the stream ended inside a pkt-line");
    const payload = this.#buffer.subarray(4, length);
    this.#buffer = this.#buffer.subarray(length);
    return payload;
  }

  /** Text lines up to the next flush (or the end of the stream). */
  async section(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const packet = await this.packet();
      if (packet === null || packet === undefined) return lines;
      lines.push(packet.toString("utf8").replace(/\n$/, ""));
    }
  }
}

/** The longest frame accepted: HAProxy's ring maxlen is 8192; anything far above is noise. */
const MAX_FRAME_BYTES = 64 * 1024;

/**
 * Incremental decoder of syslog octet-counting framing (RFC 6587 §3.4.1), as HAProxy's
 * log ring forwards over TCP with `log-proto octet-count`: "LEN SP MSG", repeated, with
 * LEN the byte length of MSG in decimal. Push chunks in, get whole messages out; a frame
 * that does not follow the format throws, and the connection should be dropped. Pure.
 */
export class OctetFrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const messages: string[] = [];
    for (;;) {
      const space = this.#pending.indexOf(0x20);
      if (space < 0) {
        if (this.#pending.length > 10) throw new Error("octet-counted frame without a length");
        break;
      }
      const digits = this.#pending.subarray(0, space).toString("latin1");
      if (!/^[1-9]\d{0,5}$/.test(digits)) throw new Error(`bad frame length "${digits}"`);
      const length = Number(digits);
      if (length > MAX_FRAME_BYTES) throw new Error(`frame of ${digits} bytes`);
      if (this.#pending.length < space + 1 + length) break;
      messages.push(this.#pending.subarray(space + 1, space + 1 + length).toString("utf8"));
      this.#pending = this.#pending.subarray(space + 1 + length);
    }
    return messages;
  }
}

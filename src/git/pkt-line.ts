/**
 * Git's pkt-line framing (gitprotocol-common): four hex digits of length (including
 * themselves) then the payload; "0000" is a flush packet.
 */

/** The flush packet that ends a section. */
export const FLUSH_PKT = "0000";

/** Largest payload one pkt-line may carry (65520 total minus the 4-byte header). */
export const MAX_PKT_PAYLOAD = 65516;

/** Frames text (or bytes) as one pkt-line. */
export function pktLine(payload: string | Uint8Array): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
  if (body.length > MAX_PKT_PAYLOAD) {
    throw new RangeError(`pkt-line payload of ${String(body.length)} bytes is too long`);
  }
  const header = (body.length + 4).toString(16).padStart(4, "0");
  return Buffer.concat([Buffer.from(header, "ascii"), body]);
}

/**
 * The first bytes of a smart-HTTP ref advertisement (`GET info/refs?service=...`): a
 * "# service=NAME" line and a flush, before what `git NAME --advertise-refs` prints.
 */
export function serviceAnnouncement(service: GitService): Buffer {
  return Buffer.concat([pktLine(`# service=${service}\n`), Buffer.from(FLUSH_PKT, "ascii")]);
}

/** The two services a Slipway remote offers: push and fetch/clone. */
export type GitService = "git-receive-pack" | "git-upload-pack";

/** Narrows a query or command value to a GitService, or undefined for anything else. */
export function parseGitService(value: string | null | undefined): GitService | undefined {
  return value === "git-receive-pack" || value === "git-upload-pack" ? value : undefined;
}

/**
 * Splits a buffer of pkt-lines into their payloads (a flush is returned as null). Throws
 * on a malformed length; stops at the end of the buffer.
 */
export function readPktLines(data: Uint8Array): (Buffer | null)[] {
  const buffer = Buffer.from(data);
  const out: (Buffer | null)[] = [];
  let at = 0;
  while (at + 4 <= buffer.length) {
    const header = buffer.toString("ascii", at, at + 4);
    if (!/^[0-9a-f]{4}$/.test(header)) throw new RangeError(`bad pkt-line length "${header}"`);
    const length = Number.parseInt(header, 16);
    if (length === 0) {
      out.push(null);
      at += 4;
      continue;
    }
    if (length < 4 || at + length > buffer.length) {
      throw new RangeError(`pkt-line length ${String(length)} runs past the data`);
    }
    out.push(buffer.subarray(at + 4, at + length));
    at += length;
  }
  return out;
}

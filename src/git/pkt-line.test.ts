import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { outputLine, parseHookLine, resultLine } from "./hook-protocol.ts";
import { PktReader } from "./pkt-reader.ts";
import { parseGitService, pktLine, readPktLines, serviceAnnouncement } from "./pkt-line.ts";

describe("pkt-line", () => {
  it("frames payloads with their length in hex", () => {
    assert.equal(pktLine("a\n").toString(), "0006a\n");
    assert.equal(pktLine("").toString(), "0004");
  });

  it("announces a service the way git http-backend does", () => {
    assert.equal(
      serviceAnnouncement("git-receive-pack").toString(),
      "001f# service=git-receive-pack\n0000",
    );
  });

  it("reads back what it writes, flushes as null", () => {
    const data = Buffer.concat([pktLine("one\n"), Buffer.from("0000"), pktLine("two")]);
    assert.deepEqual(
      readPktLines(data).map((line) => line?.toString() ?? null),
      ["one\n", null, "two"],
    );
  });

  it("refuses malformed lengths", () => {
    assert.throws(() => readPktLines(Buffer.from("zzzz")), RangeError);
    assert.throws(() => readPktLines(Buffer.from("0010abc")), RangeError);
    assert.throws(() => pktLine("x".repeat(70_000)), RangeError);
  });

  it("knows only the two smart services", () => {
    assert.equal(parseGitService("git-upload-pack"), "git-upload-pack");
    assert.equal(parseGitService("git-upload-archive"), undefined);
    assert.equal(parseGitService(null), undefined);
  });
});

describe("hook protocol", () => {
  it("tags output so a build cannot print the verdict", () => {
    const line = outputLine("R ok");
    assert.deepEqual(parseHookLine(line), { kind: "output", text: "R ok" });
    assert.deepEqual(parseHookLine(resultLine({ ok: true })), {
      kind: "result",
      result: { ok: true },
    });
    assert.deepEqual(parseHookLine(resultLine({ ok: false, reason: "a\nb" })), {
      kind: "result",
      result: { ok: false, reason: "a b" },
    });
    assert.deepEqual(parseHookLine("junk"), { kind: "unknown" });
  });
});

describe("PktReader", () => {
  it("reads sections as they arrive, across chunk boundaries", async () => {
    const data = Buffer.concat([
      pktLine("version=1\0push-options\n"),
      Buffer.from("0000"),
      pktLine("a b refs/heads/main\n"),
      Buffer.from("0000"),
    ]);
    const chunks = [data.subarray(0, 3), data.subarray(3, 20), data.subarray(20)];
    const reader = new PktReader(Readable.from(chunks));
    assert.deepEqual(await reader.section(), ["version=1\0push-options"]);
    assert.deepEqual(await reader.section(), ["a b refs/heads/main"]);
    assert.equal(await reader.packet(), undefined);
  });

  it("throws on a stream that ends inside a packet", async () => {
    const reader = new PktReader(Readable.from([Buffer.from("0010abc")]));
    await assert.rejects(reader.section(), RangeError);
  });
});

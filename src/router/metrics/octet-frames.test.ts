import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OctetFrameDecoder } from "./octet-frames.ts";

describe("octet-counted frames (HAProxy's log ring over TCP)", () => {
  it("splits frames however the chunks fall, UTF-8 included", () => {
    const decoder = new OctetFrameDecoder();
    const stream = Buffer.from("5 hello13 héllo wörld2 ok");
    const messages: string[] = [];
    for (let i = 0; i < stream.length; i += 3)
      messages.push(...decoder.push(stream.subarray(i, i + 3)));
    assert.deepEqual(messages, ["hello", "héllo wörld", "ok"]);
  });

  it("refuses what is not octet-counted", () => {
    assert.throws(() => new OctetFrameDecoder().push(Buffer.from("<134>Nov 29 x\n")));
    assert.throws(() => new OctetFrameDecoder().push(Buffer.from("0 \n")));
    assert.throws(() => new OctetFrameDecoder().push(Buffer.from("999999 x")));
    assert.throws(() => new OctetFrameDecoder().push(Buffer.from("12345678901 ")));
  });
});

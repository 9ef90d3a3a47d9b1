import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatBytes, formatTime, keyValues, shortDigest, table, toJson } from "./format.ts";
import { memoryIo } from "./io.ts";
import { uploadProgress } from "./progress.ts";

describe("table", () => {
  const rows = [
    { name: "shop", version: 12, note: "big release" },
    { name: "a-much-longer-name", version: 3, note: "" },
  ];

  it("aligns columns with two spaces and no trailing whitespace", () => {
    const text = table(rows, [
      { header: "name", value: (r) => r.name },
      { header: "version", value: (r) => `v${r.version}`, align: "right" },
      { header: "note", value: (r) => r.note },
    ]);
    assert.equal(
      text,
      [
        "NAME                VERSION  NOTE",
        "shop                    v12  big release",
        "a-much-longer-name       v3",
        "",
      ].join("\n"),
    );
  });

  it("prints only headers for no rows", () => {
    assert.equal(table([], [{ header: "name", value: String }]), "NAME\n");
  });

  it("neutralises control characters from the server", () => {
    const text = table([{ evil: "x\u001b[2J\ny" }], [{ header: "v", value: (r) => r.evil }]);
    assert.equal(text, "V\nx [2J y\n");
  });

  it("measures width in characters, not UTF-16 units or bytes", () => {
    const text = table(
      [{ n: "he\u0301llo" }, { n: "hello" }],
      [
        { header: "n", value: (r) => r.n },
        { header: "x", value: () => "|" },
      ],
    );
    assert.equal(text, "N      X\nhe\u0301llo  |\nhello  |\n");
  });
});

describe("keyValues", () => {
  it("aligns values", () => {
    assert.equal(
      keyValues([
        ["Name", "shop"],
        ["Release", "v2"],
      ]),
      "Name:     shop\nRelease:  v2\n",
    );
  });
});

describe("small formatters", () => {
  it("formats bytes, times, digests and JSON", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(5 * 1024 * 1024), "5.0 MiB");
    assert.equal(formatTime("2025-01-31T12:00:00.123Z"), "2025-01-31T12:00:00Z");
    assert.equal(formatTime(null), "-");
    assert.equal(shortDigest(`sha256:${"0123456789abcdef".repeat(4)}`), "sha256:0123456789ab");
    assert.equal(toJson({ a: 1 }), '{\n  "a": 1\n}\n');
  });
});

describe("uploadProgress", () => {
  it("writes a start and an end line when stderr is not a terminal", () => {
    const io = memoryIo();
    const progress = uploadProgress(io, "web");
    progress.update(100);
    progress.done(2048);
    assert.equal(io.stderr, "Uploading web...\nUploaded web (2.0 KiB)\n");
  });

  it("redraws one line on a terminal, at most every 100 ms", () => {
    const io = { ...memoryIo(), errIsTTY: true };
    let written = "";
    io.err = (text: string) => {
      written += text;
    };
    let clock = 1000;
    const progress = uploadProgress(io, "web", () => clock);
    progress.update(10);
    progress.update(20);
    clock += 100;
    progress.update(2048);
    progress.done(4096);
    assert.equal(
      written,
      "\rUploading web: 10 B\u001b[K\rUploading web: 2.0 KiB\u001b[K\r\u001b[KUploaded web (4.0 KiB)\n",
    );
  });
});

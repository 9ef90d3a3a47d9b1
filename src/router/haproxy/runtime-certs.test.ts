import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import { crtListChange, lineNumber, pemPayload } from "./runtime-certs.ts";

describe("crtListChange", () => {
  const before = "/d.pem\n/a.pem a.io\n/b.pem b.io\n";

  it("uploads new and changed files, adds and removes lines, forgets unused files", () => {
    const after = "/d.pem\n/a.pem [ssl-min-ver TLSv1.3] a.io\n/c.pem c.io\n";
    assert.deepEqual(crtListChange(before, after, new Set(["/a.pem"])), {
      upload: ["/a.pem", "/c.pem"],
      add: ["/a.pem [ssl-min-ver TLSv1.3] a.io", "/c.pem c.io"],
      remove: ["/a.pem a.io", "/b.pem b.io"],
      forget: ["/b.pem"],
    });
  });

  it("renews a file in place without touching the list", () => {
    assert.deepEqual(crtListChange(before, before, new Set(["/b.pem"])), {
      upload: ["/b.pem"],
      add: [],
      remove: [],
      forget: [],
    });
  });

  it("needs a reload when the default certificate changes", () => {
    assert.equal(crtListChange(before, "/e.pem\n/a.pem a.io\n", new Set()), null);
  });
});

describe("lineNumber", () => {
  const shown = [
    "# /l",
    "/d.pem:1",
    "/d.pem:4 [ssl-min-ver TLSv1.3] x.example.com",
    "/a.pem:2 a.io",
    "",
  ].join("\n");

  it("finds a line by certificate, options and filter", () => {
    assert.equal(lineNumber(shown, "/d.pem [ssl-min-ver TLSv1.3] x.example.com"), 4);
    assert.equal(lineNumber(shown, "/d.pem"), 1);
    assert.equal(lineNumber(shown, "/a.pem a.io"), 2);
    assert.equal(lineNumber(shown, "/a.pem b.io"), null);
  });
});

describe("pemPayload", () => {
  it("drops empty lines and CRs, which would end or break the CLI payload", () => {
    assert.equal(
      pemPayload("-----BEGIN X-----\r\nAAA=\n\n-----END X-----\n"),
      ["-----BEGIN X-----", "AAA=", "-----END X-----"].join("\n"),
    );
  });

  it("refuses anything that is not PEM text", () => {
    for (const text of ["", "\n\n", "-----BEGIN X-----\ncommit ssl cert /x <<\n", "a;b"]) {
      assert.throws(() => pemPayload(text), DriverError, JSON.stringify(text));
    }
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "./errors.ts";
import { parseProcfile, validateProcessType } from "./procfile.ts";

describe("parseProcfile", () => {
  const valid: [string, string, Record<string, string>][] = [
    ["one web process", "web: node server.js\n", { web: "node server.js" }],
    [
      "several types, comments, blank lines and CRLF",
      "# processes\r\nweb: npm start\r\n\r\nworker:   node worker.js --queue=high\r\n",
      { web: "npm start", worker: "node worker.js --queue=high" },
    ],
    [
      "colons inside the command",
      "web: node -e 'console.log(1:2)'",
      { web: "node -e 'console.log(1:2)'" },
    ],
    ["no space after the colon", "clock:node clock.js", { clock: "node clock.js" }],
    ["an empty file", "", {}],
  ];
  for (const [name, text, expected] of valid) {
    it(`parses ${name}`, () => {
      assert.deepEqual(parseProcfile(text), expected);
    });
  }

  const invalid: [string, string, RegExp][] = [
    ["a line without a colon", "web node server.js", /line 1: expected "type: command"/],
    ["a type with a space", "my web: node a.js", /line 1: expected/],
    ["a type with a dot", "web.1: node a.js", /line 1: invalid process type "web.1"/],
    ["an empty command", "web:\nworker: x", /line 1: process type "web" has no command/],
    ["a duplicate type", "web: a\nweb: b", /line 2: process type "web" is defined twice/],
    ["a type longer than 30", `${"w".repeat(31)}: a`, /invalid process type/],
  ];
  for (const [name, text, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => parseProcfile(text),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          assert.match(error.message, message);
          assert.ok(error.details.length > 0);
          return true;
        },
      );
    });
  }

  it("reports every problem in details", () => {
    assert.throws(
      () => parseProcfile("bad line\nweb: ok\nweb: again"),
      (error: unknown) => error instanceof ValidationError && error.details.length === 2,
    );
  });
});

describe("validateProcessType", () => {
  it("accepts names and rejects anything else", () => {
    assert.equal(validateProcessType("web"), "web");
    assert.equal(validateProcessType("worker_2-high"), "worker_2-high");
    assert.throws(() => validateProcessType("-web"), ValidationError);
    assert.throws(() => validateProcessType("../web"), ValidationError);
  });
});

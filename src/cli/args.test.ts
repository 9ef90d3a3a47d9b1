import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GLOBAL_FLAGS,
  parseCommandArgs,
  splitCommand,
  type ArgSpec,
  type FlagSpecs,
} from "./args.ts";
import { UsageError } from "./errors.ts";

const flags = {
  ...GLOBAL_FLAGS,
  app: { type: "string", short: "a", placeholder: "NAME", required: true, description: "" },
  confirm: { type: "string", description: "" },
  yes: { type: "boolean", description: "" },
} as const satisfies FlagSpecs;
const args: readonly ArgSpec[] = [
  { name: "NAME", description: "" },
  { name: "DIR", description: "", optional: true },
];

const parse = (argv: string[]) => parseCommandArgs("cmd", argv, flags, args);

function usageError(argv: string[]): string {
  try {
    parse(argv);
  } catch (error) {
    assert.ok(error instanceof UsageError);
    assert.equal(error.command, "cmd");
    return error.message;
  }
  assert.fail(`expected a UsageError for ${argv.join(" ")}`);
}

describe("parseCommandArgs", () => {
  it("parses positionals, string and boolean flags, in any order", () => {
    assert.deepEqual(parse(["shop", "--app", "x", "./dir", "--yes"]), {
      flags: { app: "x", yes: true, help: false, json: false },
      args: { NAME: "shop", DIR: "./dir" },
    });
  });

  it("accepts --flag=value, short flags and -- before positionals", () => {
    const parsed = parse(["-a", "x", "--confirm=shop", "--", "--weird-name"]);
    assert.equal(parsed.flags.app, "x");
    assert.equal(parsed.flags.confirm, "shop");
    assert.equal(parsed.args.NAME, "--weird-name");
    assert.equal(parsed.args.DIR, undefined);
  });

  it("defaults booleans to false and leaves optional strings undefined", () => {
    const parsed = parse(["shop", "--app", "x"]);
    assert.equal(parsed.flags.yes, false);
    assert.equal(parsed.flags.json, false);
    assert.equal(parsed.flags.confirm, undefined);
  });

  it("says exactly what is wrong", () => {
    assert.equal(usageError(["shop", "--app", "x", "--force"]), 'unknown flag --force for "cmd"');
    assert.equal(usageError(["shop", "--app", "x", "-f"]), 'unknown flag -f for "cmd"');
    assert.equal(usageError(["shop", "--app", "x", "--yes=no"]), "flag --yes takes no value");
    assert.equal(usageError(["shop", "--app"]), "flag --app needs a value (--app NAME)");
    assert.equal(usageError(["shop", "--app", "--json"]), "flag --app needs a value (--app NAME)");
    assert.equal(
      usageError(["shop", "--app", "x", "--app", "y"]),
      "flag --app given more than once",
    );
    assert.equal(usageError(["shop"]), "missing flag --app NAME");
    assert.equal(usageError(["--app", "x"]), "missing argument NAME");
    assert.equal(usageError(["a", "b", "c", "d", "--app", "x"]), "unexpected arguments: c d");
  });

  it("takes a lone - as a value (stdin)", () => {
    assert.equal(parse(["shop", "--app", "-"]).flags.app, "-");
  });
});

describe("splitCommand", () => {
  it("finds the command after global flags", () => {
    assert.deepEqual(splitCommand(["--home", "/h", "apps", "--json"]), {
      name: "apps",
      rest: ["--home", "/h", "--json"],
    });
    assert.deepEqual(splitCommand(["deploy", "."]), { name: "deploy", rest: ["."] });
    assert.deepEqual(splitCommand(["--json"]), { name: undefined, rest: ["--json"] });
    assert.deepEqual(splitCommand(["--", "apps"]), { name: undefined, rest: ["--", "apps"] });
  });
});

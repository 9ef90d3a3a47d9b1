import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isSafeRefName, parseRefUpdates, planPush, ZERO_SHA } from "./push-plan.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("parseRefUpdates", () => {
  it("reads one update per line and skips blank lines", () => {
    assert.deepEqual(parseRefUpdates(`${A} ${B} refs/heads/main\n\n`), [
      { oldSha: A, newSha: B, ref: "refs/heads/main" },
    ]);
  });

  it("throws on a line git would never write", () => {
    assert.throws(() => parseRefUpdates("nonsense"), RangeError);
    assert.throws(() => parseRefUpdates(`${A} ${B} refs/heads/main extra`), RangeError);
    assert.throws(() => parseRefUpdates(`${A} xyz refs/heads/main`), RangeError);
  });
});

describe("planPush", () => {
  const cases: [string, string, RegExp | "deploy" | "nothing"][] = [
    ["update of main", `${A} ${B} refs/heads/main`, "deploy"],
    ["creation of main", `${ZERO_SHA} ${B} refs/heads/main`, "deploy"],
    ["update of master", `${A} ${B} refs/heads/master`, "deploy"],
    [
      "another branch",
      `${A} ${B} refs/heads/feature`,
      /deploys only refs\/heads\/main or refs\/heads\/master.*git push slipway feature:main/,
    ],
    ["a tag", `${ZERO_SHA} ${B} refs/tags/v1`, /deploys only refs\/heads\/main/],
    ["deleting main", `${A} ${ZERO_SHA} refs/heads/main`, /deleting the deploy branch/],
    [
      "main and master at once",
      `${A} ${B} refs/heads/main\n${A} ${B} refs/heads/master`,
      /one deploy branch/,
    ],
    [
      "main with a stray branch",
      `${A} ${B} refs/heads/main\n${A} ${B} refs/heads/x`,
      /refs\/heads\/x/,
    ],
    ["nothing", "", "nothing"],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const plan = planPush(parseRefUpdates(input));
      if (expected === "deploy") {
        assert.ok(plan.kind === "deploy");
        assert.equal(plan.update.newSha, B);
      } else if (expected === "nothing") {
        assert.equal(plan.kind, "nothing");
      } else {
        assert.ok(plan.kind === "refuse");
        assert.match(plan.reasons.join("\n"), expected);
      }
    });
  }
});

describe("planPush with a configured deploy branch", () => {
  const branches = ["main", "production"];
  it("deploys the configured branch and main, and refuses master and others", () => {
    const plan = (line: string) => planPush(parseRefUpdates(line), branches);
    assert.equal(plan(`${A} ${B} refs/heads/production`).kind, "deploy");
    assert.equal(plan(`${A} ${B} refs/heads/main`).kind, "deploy");
    for (const ref of ["refs/heads/master", "refs/heads/feature"]) {
      const refused = plan(`${A} ${B} ${ref}`);
      assert.ok(refused.kind === "refuse");
      assert.match(
        refused.reasons.join(),
        /deploys only refs\/heads\/main or refs\/heads\/production/,
      );
    }
    const both = plan(`${A} ${B} refs/heads/main\n${A} ${B} refs/heads/production`);
    assert.ok(both.kind === "refuse");
    assert.match(both.reasons.join(), /one deploy branch at a time/);
  });
});

describe("isSafeRefName", () => {
  it("accepts ordinary branch names and refuses tricks", () => {
    assert.ok(isSafeRefName("refs/heads/main"));
    for (const bad of [
      "refs/heads/../x",
      "refs/heads/.x",
      "refs/heads/a.lock",
      "refs/heads/a b",
      "main",
    ]) {
      assert.equal(isSafeRefName(bad), false, bad);
    }
  });
});

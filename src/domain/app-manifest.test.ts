import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { manifestFromJson, parseAppJson } from "./app-manifest.ts";
import { ValidationError } from "./errors.ts";

describe("parseAppJson", () => {
  it("reads formation, postdeploy and health checks; ignores other keys", () => {
    const manifest = parseAppJson(
      JSON.stringify({
        name: "shop",
        env: { SECRET: { generator: "secret" } },
        formation: { web: { quantity: 2, size: "m" }, worker: {} },
        scripts: { postdeploy: "node seed.js" },
        healthchecks: { web: [{ type: "startup", path: "/health", timeout: 3 }] },
      }),
    );
    assert.deepEqual(manifest, {
      formation: { web: { quantity: 2, size: "M" }, worker: { quantity: 1, size: "S" } },
      postdeploy: "node seed.js",
      healthchecks: {
        web: [
          { type: "startup", path: "/health", timeoutSeconds: 3, intervalSeconds: 10, attempts: 3 },
        ],
      },
    });
    assert.deepEqual(manifestFromJson(JSON.parse(JSON.stringify(manifest))), manifest);
  });

  it("accepts Heroku's object form of postdeploy and an empty document", () => {
    assert.equal(parseAppJson('{"scripts":{"postdeploy":{"command":"x"}}}').postdeploy, "x");
    assert.deepEqual(parseAppJson("{}"), { formation: {}, postdeploy: null, healthchecks: {} });
  });

  it("fails clearly on malformed documents, listing every problem", () => {
    for (const text of [
      "{",
      "[]",
      '{"formation": []}',
      '{"formation": {"web": {"quantity": -1}}}',
      '{"formation": {"web": {"size": "HUGE"}}}',
      '{"formation": {"bad name": {}}}',
      '{"scripts": {"postdeploy": 1}}',
      '{"healthchecks": {"web": [{"path": "no-slash"}]}}',
      '{"healthchecks": {"web": [{"type": "sometimes", "path": "/"}]}}',
    ]) {
      assert.throws(
        () => parseAppJson(text),
        (e: unknown) => e instanceof ValidationError && e.message.startsWith("malformed app.json"),
        text,
      );
    }
    try {
      parseAppJson('{"formation": {"web": {"quantity": "x"}}, "scripts": {"postdeploy": ""}}');
    } catch (error) {
      assert.equal((error as ValidationError).details.length, 2);
    }
  });
});

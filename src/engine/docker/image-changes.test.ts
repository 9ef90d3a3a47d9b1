import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../../domain/errors.ts";
import { imageChanges } from "./image-changes.ts";
import { shortTag, splitReference } from "./image-reference.ts";

describe("imageChanges", () => {
  it("renders one quoted change per label and variable, then entrypoint, cmd, dir, user", () => {
    assert.deepEqual(
      imageChanges({
        labels: { "io.slipway.instance": "abc", note: 'a "b" = c' },
        env: ["PATH=/app/bin:/usr/bin", "EMPTY="],
        entrypoint: ["/bin/sh", "-c"],
        cmd: ["echo", "it's"],
        workingDir: "/app",
        user: "1000:1000",
      }),
      [
        'LABEL io.slipway.instance="abc"',
        'LABEL note="a "b" = c"',
        'ENV PATH="/app/bin:/usr/bin"',
        'ENV EMPTY=""',
        'ENTRYPOINT ["/bin/sh","-c"]',
        'CMD ["echo","it\'s"]',
        "WORKDIR /app",
        "USER 1000:1000",
      ],
    );
  });

  const invalid: [string, Parameters<typeof imageChanges>[0]][] = [
    ["a label value with a newline", { labels: { a: "x\ny" } }],
    ["a label key with a space", { labels: { "a b": "x" } }],
    ["an env entry without =", { labels: {}, env: ["PATH"] }],
    ["a relative working directory", { labels: {}, workingDir: "app" }],
    ["a user with a space", { labels: {}, user: "root x" }],
  ];
  for (const [what, config] of invalid) {
    it(`refuses ${what}`, () => {
      assert.throws(() => imageChanges(config), ValidationError);
    });
  }
});

describe("splitReference", () => {
  const table: [string, string, string][] = [
    ["slipway/stack-run:24.1", "slipway/stack-run", "24.1"],
    ["slipway/app", "slipway/app", "latest"],
    ["localhost:5000/slipway/app", "localhost:5000/slipway/app", "latest"],
    ["localhost:5000/slipway/app:v2", "localhost:5000/slipway/app", "v2"],
  ];
  for (const [reference, repository, tag] of table) {
    it(reference, () => {
      assert.deepEqual(splitReference(reference), { repository, tag });
    });
  }

  for (const bad of ["Slipway/App", "app@sha256:abc", "app:", "-app", "a b"]) {
    it(`refuses "${bad}"`, () => {
      assert.throws(() => splitReference(bad), ValidationError);
    });
  }
});

describe("shortTag", () => {
  it("drops the docker.io qualification the compat API adds", () => {
    assert.equal(shortTag("docker.io/slipway/app:v1"), "slipway/app:v1");
    assert.equal(shortTag("docker.io/library/busybox:1"), "busybox:1");
    assert.equal(shortTag("localhost/slipway/app:v1"), "localhost/slipway/app:v1");
  });
});

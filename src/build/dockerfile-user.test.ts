import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRootUser } from "../domain/container-user.ts";
import { rootRunLines, runSteps } from "./dockerfile-user.ts";

describe("Dockerfile RUN users", () => {
  it("follows USER through stages, stage names and line continuations", () => {
    const steps = runSteps(
      [
        "FROM slipway/stack-build:24.1 AS build", // 1
        "RUN make", // 2: the build stack's user (root)
        "USER 1000", // 3
        "RUN make \\", // 4
        "  install", // 5
        "FROM build AS again", // 6: inherits USER 1000
        "RUN true", // 7
        "FROM slipway/stack-run:24.1", // 8
        "# RUN commented out", // 9
        "USER root:root", // 10
        "run echo lower-case", // 11
      ].join("\n"),
    );
    assert.deepEqual(steps, [
      { line: 2, baseImage: "slipway/stack-build:24.1", user: null },
      { line: 4, baseImage: "slipway/stack-build:24.1", user: "1000" },
      { line: 7, baseImage: "slipway/stack-build:24.1", user: "1000" },
      { line: 11, baseImage: "slipway/stack-run:24.1", user: "root:root" },
    ]);
    const users: Record<string, string> = {
      "slipway/stack-build:24.1": "0:0",
      "slipway/stack-run:24.1": "1000:1000",
    };
    assert.deepEqual(
      rootRunLines(steps, (image) => users[image]),
      [2, 11],
    );
  });

  it("counts root, uid 0, the default and variables as root", () => {
    for (const user of ["", "root", "0", "0:0", "000", "root:app", "$APP_USER", "${U}"])
      assert.equal(isRootUser(user), true, user);
    for (const user of ["1000", "1000:1000", "app", "app:root", "10"])
      assert.equal(isRootUser(user), false, user);
  });

  it("leaves steps on an unknown image to the engine, which refuses unknown images", () => {
    assert.deepEqual(
      rootRunLines(runSteps("FROM nowhere:1\nRUN true\n"), () => undefined),
      [],
    );
  });
});

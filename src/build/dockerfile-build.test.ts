import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BuildFailedError } from "../domain/errors.ts";
import { dockerfileProcessTypes, readDockerfile } from "./dockerfile-build.ts";

describe("readDockerfile", () => {
  it("reads the last stage's command, working directory and user", () => {
    const facts = readDockerfile(
      [
        "FROM slipway/stack-build:24.1 AS build",
        'CMD ["ignored"]',
        "FROM slipway/stack-run:24.1",
        "WORKDIR /srv",
        "COPY . /srv",
        'ENTRYPOINT ["python3", "-u"]',
        'CMD ["server.py", "it\'s"]',
      ].join("\n"),
    );
    assert.deepEqual(facts, {
      command: "'python3' '-u' 'server.py' 'it'\\''s'",
      workdir: "/srv",
      user: null,
      runs: [],
    });
  });

  it("takes the shell form as it is and joins continuation lines", () => {
    const facts = readDockerfile("FROM x\nUSER app\nCMD python3 \\\n  -m http.server $PORT\n");
    assert.equal(facts.command, "python3    -m http.server $PORT");
    assert.equal(facts.user, "app");
  });
});

describe("dockerfileProcessTypes", () => {
  const facts = { command: "serve", workdir: "/srv", user: null, runs: [] };
  it("uses the image's command for web and runs every type in its WORKDIR", () => {
    assert.deepEqual(dockerfileProcessTypes(facts, "worker: work\n"), {
      web: "cd '/srv' && serve",
      worker: "cd '/srv' && work",
    });
  });

  it("lets the Procfile's web win, and fails when there is nothing to run", () => {
    assert.deepEqual(dockerfileProcessTypes({ ...facts, workdir: null }, "web: other\n"), {
      web: "other",
    });
    assert.throws(
      () =>
        dockerfileProcessTypes({ command: null, workdir: null, user: null, runs: [] }, undefined),
      BuildFailedError,
    );
  });
});

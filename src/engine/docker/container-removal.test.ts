import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import { mapEngineError } from "./api-errors.ts";
import { inspectRaw } from "./container-removal.ts";
import { ApiStub } from "./testing/api-stub.ts";

/** Answers an inspect after failing it as scripted. */
class FlakyInspect extends ApiStub {
  readonly failures: string[];
  calls = 0;
  constructor(failures: string[]) {
    super();
    this.failures = failures;
  }
  json(method: string, path: string): Promise<unknown> {
    this.calls++;
    const failure = this.failures.shift();
    if (failure !== undefined) {
      return Promise.reject(
        mapEngineError(method, path, 500, JSON.stringify({ message: failure })),
      );
    }
    return Promise.resolve({ Id: "c1", State: { Status: "exited" } });
  }
}

describe("inspectRaw", () => {
  it("asks again when the container's process exited while Podman read its state", async () => {
    const api = new FlakyInspect(["read /proc/18460/cgroup: no such process"]);
    assert.deepEqual(await inspectRaw(api, "c1"), { Id: "c1", State: { Status: "exited" } });
    assert.equal(api.calls, 2);
  });

  it("gives up after a few tries, and at once on any other failure", async () => {
    const exiting = "read /proc/1/cgroup: no such process";
    const stuck = new FlakyInspect([exiting, exiting, exiting]);
    await assert.rejects(inspectRaw(stuck, "c1"), DriverError);
    assert.equal(stuck.calls, 3);
    const broken = new FlakyInspect(["database is locked"]);
    await assert.rejects(inspectRaw(broken, "c1"), /database is locked/);
    assert.equal(broken.calls, 1);
  });
});

import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { ValidationError } from "../domain/errors.ts";
import { loadConfig } from "./config.ts";

const HOME = { SLIPWAY_HOME: "/nonexistent/slipway-config-test" };

describe("loadConfig: router threads", () => {
  it("defaults to half the host's CPUs, at least one", () => {
    const expected = Math.max(1, Math.floor(availableParallelism() / 2));
    assert.equal(loadConfig(HOME).routerThreads, expected);
  });

  it("takes SLIPWAY_ROUTER_THREADS from 1 to 64", () => {
    assert.equal(loadConfig({ ...HOME, SLIPWAY_ROUTER_THREADS: "3" }).routerThreads, 3);
    for (const bad of ["0", "65", "two", "1.5"]) {
      assert.throws(
        () => loadConfig({ ...HOME, SLIPWAY_ROUTER_THREADS: bad }),
        (error: unknown) =>
          error instanceof ValidationError && /SLIPWAY_ROUTER_THREADS/.test(error.message),
      );
    }
  });
});

describe("loadConfig: build containers started ahead", () => {
  it("wait 600 s by default; SLIPWAY_BUILD_STANDBY sets it, 0 for none", () => {
    assert.equal(loadConfig(HOME).build.standbySeconds, 600);
    assert.equal(loadConfig({ ...HOME, SLIPWAY_BUILD_STANDBY: "0" }).build.standbySeconds, 0);
    assert.throws(
      () => loadConfig({ ...HOME, SLIPWAY_BUILD_STANDBY: "ten" }),
      (error: unknown) =>
        error instanceof ValidationError && /SLIPWAY_BUILD_STANDBY/.test(error.message),
    );
  });
});

describe("loadConfig: network sandboxes", () => {
  it("are on unless SLIPWAY_NETWORK_SANDBOXES=0", () => {
    assert.equal(loadConfig(HOME).engine.networkSandboxes, true);
    assert.equal(
      loadConfig({ ...HOME, SLIPWAY_NETWORK_SANDBOXES: "1" }).engine.networkSandboxes,
      true,
    );
    assert.equal(
      loadConfig({ ...HOME, SLIPWAY_NETWORK_SANDBOXES: "0" }).engine.networkSandboxes,
      false,
    );
  });
});

describe("loadConfig: startup CPU boost", () => {
  it("gives a booting web container 2 CPUs by default; SLIPWAY_STARTUP_CPUS sets it, 0 for none", () => {
    assert.equal(loadConfig(HOME).runtime.startupCpus, 2);
    assert.equal(loadConfig({ ...HOME, SLIPWAY_STARTUP_CPUS: "1.5" }).runtime.startupCpus, 1.5);
    assert.equal(loadConfig({ ...HOME, SLIPWAY_STARTUP_CPUS: "0" }).runtime.startupCpus, 0);
    for (const bad of ["", "-1", "many", "1000"]) {
      assert.throws(
        () => loadConfig({ ...HOME, SLIPWAY_STARTUP_CPUS: bad }),
        (error: unknown) =>
          error instanceof ValidationError && /SLIPWAY_STARTUP_CPUS/.test(error.message),
      );
    }
  });
});

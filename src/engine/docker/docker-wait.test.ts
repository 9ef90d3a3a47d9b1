import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RequestOptions } from "./api-client.ts";
import { ApiStub, engineOn } from "./testing/api-stub.ts";
import { mapEngineError } from "./api-errors.ts";

const INSTANCE = "abc";

/** One running container, owned by INSTANCE; a Podman (libpod API) or a Docker daemon. */
class WaitStub extends ApiStub {
  readonly calls: string[] = [];
  readonly #libpod: boolean;

  constructor(libpod: boolean) {
    super();
    this.#libpod = libpod;
  }

  json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const api = options.api ?? "compat";
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
    }
    this.calls.push(`${api} ${method} ${path}?${query.toString()}`);
    if (method === "GET" && path === "/containers/c1/json") {
      return Promise.resolve({
        Id: "c1",
        Name: "/c1",
        Image: "sha256:1",
        Config: { Image: "slipway/x:1", Labels: { "io.slipway.instance": INSTANCE } },
        State: { Status: "running", ExitCode: 0, OOMKilled: false, StartedAt: "" },
        NetworkSettings: { Networks: {} },
      });
    }
    if (method === "POST" && path === "/containers/c1/wait") {
      if (api === "libpod" && !this.#libpod) {
        return Promise.reject(mapEngineError(method, path, 404, "page not found"));
      }
      return Promise.resolve(api === "libpod" ? 3 : { StatusCode: 3, Error: null });
    }
    return Promise.reject(new Error(`unexpected ${method} ${path}`));
  }
}

describe("DockerEngine.waitContainer", () => {
  it("asks Podman's own API, which polls at an interval (its compat wait spins a core)", async () => {
    const api = new WaitStub(true);
    assert.equal(await engineOn(api, INSTANCE).waitContainer("c1"), 3);
    const waits = api.calls.filter((call) => call.includes("/wait"));
    assert.deepEqual(waits, [
      "libpod POST /containers/c1/wait?condition=stopped&condition=exited&interval=25ms",
    ]);
  });

  it("falls back to the compat wait on a Docker daemon", async () => {
    const api = new WaitStub(false);
    assert.equal(await engineOn(api, INSTANCE).waitContainer("c1"), 3);
    const waits = api.calls.filter((call) => call.includes("/wait"));
    assert.deepEqual(waits, [
      "libpod POST /containers/c1/wait?condition=stopped&condition=exited&interval=25ms",
      "compat POST /containers/c1/wait?condition=not-running",
    ]);
  });
});

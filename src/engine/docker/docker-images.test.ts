import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiStub } from "./testing/api-stub.ts";
import { DockerEngine } from "./docker-engine.ts";

const INSTANCE = "abc";

/** Three images of the instance, two apps; records which images were inspected. */
class ImagesStub extends ApiStub {
  readonly inspected: string[] = [];
  readonly #labels: Record<string, Record<string, string>> = {
    i1: { "io.slipway.instance": INSTANCE, "io.slipway.app": "shop", "io.slipway.role": "app" },
    i2: { "io.slipway.instance": INSTANCE, "io.slipway.app": "shop", "io.slipway.role": "layers" },
    i3: { "io.slipway.instance": INSTANCE, "io.slipway.app": "blog", "io.slipway.role": "app" },
  };

  json(method: string, path: string): Promise<unknown> {
    if (method === "GET" && path === "/images/json") {
      return Promise.resolve(
        Object.entries(this.#labels).map(([id, labels]) => ({
          Id: `sha256:${id}`,
          Labels: labels,
        })),
      );
    }
    const id = /^\/images\/sha256:(\w+)\/json$/.exec(path)?.[1];
    const labels = id === undefined ? undefined : this.#labels[id];
    if (method === "GET" && id !== undefined && labels !== undefined) {
      this.inspected.push(id);
      return Promise.resolve({
        Id: `sha256:${id}`,
        RepoTags: [],
        Config: { Labels: labels },
        Created: "2026-11-30T00:00:00Z",
      });
    }
    return Promise.reject(new Error(`unexpected ${method} ${path}`));
  }
}

describe("DockerEngine.listImages", () => {
  it("inspects only the images whose labels match, read from the list", async () => {
    const api = new ImagesStub();
    const engine = new DockerEngine({
      socketPath: "/nonexistent",
      instance: INSTANCE,
      networkPool: "10.213.0.0/16",
      api,
      firewall: null,
    });
    const shop = await engine.listImages({ "io.slipway.app": "shop" });
    assert.deepEqual(shop.map((image) => image.id).sort(), ["sha256:i1", "sha256:i2"]);
    assert.deepEqual(api.inspected.sort(), ["i1", "i2"]);
    const layers = await engine.listImages({
      "io.slipway.app": "shop",
      "io.slipway.role": "layers",
    });
    assert.deepEqual(
      layers.map((image) => image.id),
      ["sha256:i2"],
    );
    assert.equal((await engine.listImages()).length, 3);
  });
});

import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import type { RequestOptions } from "./api-client.ts";
import { NotFoundError } from "../../domain/errors.ts";
import type { ImageInfo } from "../engine.ts";
import { packTar, tarFile, unpackTar } from "../tar-files.ts";
import { ApiStub, engineOn } from "./testing/api-stub.ts";
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
      return Promise.resolve([
        ...Object.entries(this.#labels).map(([id, labels]) => ({
          Id: `sha256:${id}`,
          Labels: labels,
          RepoTags: [`docker.io/slipway/${id}:1`],
          Size: 1234,
          Created: 1796000000,
        })),
        // The engine's filter is on the instance label; one that slips through is dropped.
        { Id: "sha256:other", Labels: { "io.slipway.instance": "else", "io.slipway.app": "shop" } },
      ]);
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
  it("answers from the list alone: labels, tags, size and time, no inspect", async () => {
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
    assert.deepEqual(api.inspected, []);
    assert.deepEqual(
      shop.find((image) => image.id === "sha256:i1"),
      {
        id: "sha256:i1",
        digest: "sha256:i1",
        tags: ["slipway/i1:1"],
        labels: {
          "io.slipway.instance": INSTANCE,
          "io.slipway.app": "shop",
          "io.slipway.role": "app",
        },
        sizeBytes: 1234,
        createdAt: "2026-11-30T00:53:20.000Z",
      },
    );
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

const LAYER = `sha256:${"1".repeat(64)}`;
/** The id of the image the stub answers for "tagged". */
const TAGGED = `sha256:${"2".repeat(64)}`;

/**
 * An engine with or without Podman's image loader: answers the base image, the loader (or
 * 404, as a Docker daemon does), and the container + commit way; records every request.
 */
class AppendStub extends ApiStub {
  readonly calls: string[] = [];
  readonly loaded: Buffer[] = [];
  readonly #loader: boolean;

  constructor(loader: boolean) {
    super();
    this.#loader = loader;
  }

  async json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const call = `${method} ${options.api === "libpod" ? "/libpod" : ""}${path}`;
    this.calls.push(call);
    if (method === "GET" && /^\/images\/[^/]+\/json$/.test(path)) {
      const name = path.split("/")[2] ?? "";
      return {
        Id: name === "base" ? "sha256:base" : name === "tagged" ? TAGGED : name,
        RepoTags: [],
        Created: "2026-11-30T00:00:00Z",
        Config: { Env: ["PATH=/bin"], Labels: { "io.slipway.instance": INSTANCE } },
        RootFS: { Type: "layers", Layers: [LAYER] },
      };
    }
    if (call === "POST /libpod/images/load") {
      if (!this.#loader) throw new NotFoundError("route", path);
      const chunks: Buffer[] = [];
      for await (const chunk of options.body ?? []) chunks.push(chunk as Buffer);
      this.loaded.push(Buffer.concat(chunks));
      return { Names: [] };
    }
    if (call === "POST /containers/create") return { Id: "layer-container" };
    if (call === "PUT /containers/layer-container/archive") {
      options.body?.resume();
      return {};
    }
    if (call === "POST /commit") return { Id: "committed" };
    if (call === "DELETE /containers/layer-container") return {};
    throw new Error(`unexpected ${call}`);
  }
}

describe("DockerEngine.appendLayer", () => {
  const append = (engine: DockerEngine): Promise<unknown> =>
    engine.appendLayer("base", packTar([tarFile("app/a.txt", "a")]), {
      reference: "slipway/app-shop:b1",
      labels: { "io.slipway.app": "shop" },
    });

  it("hands Podman's loader one archive: no container, no commit", async () => {
    const api = new AppendStub(true);
    const engine = engineOn(api, INSTANCE);
    const image = (await append(engine)) as ImageInfo;
    // What it loaded needs no inspect: the id, tag, labels and times are the driver's own.
    assert.deepEqual(api.calls.slice(1), ["POST /libpod/images/load"]);
    assert.deepEqual(image.tags, ["slipway/app-shop:b1"]);
    assert.equal(image.labels["io.slipway.app"], "shop");
    // A layer on it: nothing looked up either.
    await engine.appendLayer(image.id, packTar([tarFile("app/b.txt", "b")]), {
      reference: "slipway/app-shop:b2",
      labels: {},
    });
    assert.deepEqual(api.calls.slice(1), ["POST /libpod/images/load", "POST /libpod/images/load"]);
    const files = await unpackTar(Readable.from(api.loaded));
    const manifest = JSON.parse(
      files.find((file) => file.path === "manifest.json")?.data.toString() ?? "",
    ) as [{ RepoTags: string[]; Layers: string[] }];
    assert.deepEqual(manifest[0].RepoTags, ["docker.io/slipway/app-shop:b1"]);
    assert.equal(manifest[0].Layers[0], `${LAYER.slice(7)}/layer.tar`);
  });

  it("appends to an image inspected before without inspecting it again (an id fixes it)", async () => {
    const api = new AppendStub(true);
    const engine = engineOn(api, INSTANCE);
    assert.equal((await engine.inspectImage("tagged"))?.id, TAGGED);
    const image = await engine.appendLayer(TAGGED, packTar([tarFile("app/a.txt", "a")]), {
      reference: "slipway/app-shop:b2",
      labels: {},
    });
    assert.deepEqual(api.calls, ["GET /images/tagged/json", "POST /libpod/images/load"]);
    assert.ok(image.id.startsWith("sha256:"));
  });

  it("commits a container where the engine has no loader (Docker), and stops asking", async () => {
    const api = new AppendStub(false);
    const engine = engineOn(api, INSTANCE);
    await append(engine);
    await append(engine);
    const commitWay = [
      "POST /containers/create",
      "PUT /containers/layer-container/archive",
      "POST /commit",
      "GET /images/sha256:committed/json",
      "DELETE /containers/layer-container",
    ];
    assert.deepEqual(api.calls, [
      "GET /images/base/json",
      "POST /libpod/images/load",
      ...commitWay,
      "GET /images/base/json",
      ...commitWay,
    ]);
  });
});

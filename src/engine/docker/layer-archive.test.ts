import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, it } from "node:test";
import { ValidationError } from "../../domain/errors.ts";
import { unpackTar } from "../tar-files.ts";
import {
  appendedImage,
  layerArchive,
  qualifiedReference,
  readLayer,
  type BufferedLayer,
} from "./layer-archive.ts";

const digest = (data: string | Buffer): string =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;
const L1 = digest("layer one");
const L2 = digest("layer two");

/** An image inspect document as the Docker API answers it. */
const BASE = {
  Id: "sha256:base",
  Created: "2026-11-01T00:00:00Z",
  Architecture: "amd64",
  Os: "linux",
  Config: {
    Hostname: "abc",
    AttachStdin: false,
    User: "",
    Env: ["PATH=/usr/bin:/bin", "KEEP=1"],
    Cmd: ["/bin/sh"],
    WorkingDir: "",
    Entrypoint: null,
    Labels: { "io.slipway.instance": "i1", "io.slipway.role": "layer" },
  },
  RootFS: { Type: "layers", Layers: [L1, L2] },
};

function buffered(content: string): BufferedLayer {
  const chunk = Buffer.from(content);
  return { chunks: [chunk], size: chunk.length, diffId: digest(chunk) };
}

describe("appendedImage", () => {
  it("applies the options as a commit does: labels and environment merged, the rest replaced", () => {
    const layer = digest("new");
    const image = appendedImage(
      BASE,
      layer,
      {
        labels: { "io.slipway.role": "app", "io.slipway.app": "shop" },
        env: ["PATH=/app/bin:/usr/bin:/bin", "HOME=/app"],
        cmd: ["/app/.slipway/launch", "web"],
        workingDir: "/app",
        user: "1000:1000",
      },
      "2026-11-30T12:00:00.000Z",
    );
    const config = JSON.parse(image.config.toString()) as Record<string, unknown>;
    assert.equal(image.id, digest(image.config), "the id is the configuration's digest");
    assert.deepEqual(image.baseDiffIds, [L1, L2]);
    assert.deepEqual(config.rootfs, { type: "layers", diff_ids: [L1, L2, layer] });
    assert.equal(config.created, "2026-11-30T12:00:00.000Z");
    assert.equal(config.architecture, "amd64");
    assert.deepEqual(config.config, {
      User: "1000:1000",
      Env: ["PATH=/app/bin:/usr/bin:/bin", "KEEP=1", "HOME=/app"],
      Cmd: ["/app/.slipway/launch", "web"],
      WorkingDir: "/app",
      Labels: {
        "io.slipway.instance": "i1",
        "io.slipway.role": "app",
        "io.slipway.app": "shop",
      },
    });
    assert.equal((config.history as unknown[]).length, 3, "one history entry per layer");
  });

  it("keeps the base's configuration when no option changes it", () => {
    const config = JSON.parse(
      appendedImage(BASE, digest("x"), { labels: {} }, "2026-11-30T12:00:00Z").config.toString(),
    ) as { config: Record<string, unknown> };
    assert.deepEqual(config.config, {
      Env: BASE.Config.Env,
      Cmd: BASE.Config.Cmd,
      Labels: BASE.Config.Labels,
    });
  });

  it("refuses what a commit refuses, and a base without proper layer digests", () => {
    assert.throws(
      () => appendedImage(BASE, L1, { labels: { "bad key": "x" } }, "now"),
      ValidationError,
    );
    assert.throws(
      () => appendedImage(BASE, L1, { labels: {}, env: ["line=a\nb"] }, "now"),
      ValidationError,
    );
    assert.throws(
      () => appendedImage({ ...BASE, RootFS: { Layers: ["md5:x"] } }, L1, { labels: {} }, "now"),
      TypeError,
    );
  });
});

describe("layerArchive", () => {
  it("holds the manifest, the configuration, the new layer and an empty file per base layer", async () => {
    const layer = buffered("the layer's tar");
    const image = appendedImage(BASE, layer.diffId, { labels: {} }, "2026-11-30T12:00:00Z");
    const files = await unpackTar(layerArchive(image, layer, "docker.io/slipway/app-shop:b1"));
    const byName = new Map(files.map((file) => [file.path, file.data.toString()]));
    const hex = (d: string): string => d.slice("sha256:".length);
    assert.deepEqual(JSON.parse(byName.get("manifest.json") ?? ""), [
      {
        Config: `${hex(image.id)}.json`,
        RepoTags: ["docker.io/slipway/app-shop:b1"],
        Layers: [L1, L2, layer.diffId].map((d) => `${hex(d)}/layer.tar`),
      },
    ]);
    assert.equal(byName.get(`${hex(image.id)}.json`), image.config.toString());
    assert.equal(byName.get(`${hex(L1)}/layer.tar`), "");
    assert.equal(byName.get(`${hex(L2)}/layer.tar`), "");
    assert.equal(byName.get(`${hex(layer.diffId)}/layer.tar`), "the layer's tar");
  });
});

describe("readLayer", () => {
  it("holds a layer up to the limit, with its digest", async () => {
    const layer = await readLayer(Readable.from([Buffer.from("ab"), Buffer.from("cd")]), 4);
    assert.ok(!("large" in layer));
    assert.equal(layer.size, 4);
    assert.equal(layer.diffId, digest("abcd"));
    assert.equal(Buffer.concat(layer.chunks).toString(), "abcd");
  });

  it("hands a larger layer back as a stream of all of its bytes", async () => {
    const layer = await readLayer(
      Readable.from([Buffer.from("ab"), Buffer.from("cd"), Buffer.from("ef")]),
      3,
    );
    assert.ok("large" in layer);
    assert.equal(await text(layer.large), "abcdef");
  });

  it("fails with the stream's error", async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error("the build container went away"));
      },
    });
    await assert.rejects(readLayer(failing, 10), /went away/);
  });
});

describe("qualifiedReference", () => {
  it("qualifies short names as the Docker daemon does, and leaves registries alone", () => {
    assert.equal(qualifiedReference("slipway/app-shop:b1"), "docker.io/slipway/app-shop:b1");
    assert.equal(qualifiedReference("busybox:1"), "docker.io/library/busybox:1");
    assert.equal(qualifiedReference("localhost/x/y:1"), "localhost/x/y:1");
    assert.equal(qualifiedReference("registry.example:5000/x:1"), "registry.example:5000/x:1");
    assert.equal(qualifiedReference("registry.example/x:1"), "registry.example/x:1");
  });
});

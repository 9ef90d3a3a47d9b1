import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { ForbiddenError } from "../../domain/errors.ts";
import type { RequestOptions } from "./api-client.ts";
import { mapEngineError } from "./api-errors.ts";
import { OwnedIds } from "./owned-ids.ts";
import { ApiStub, engineOn } from "./testing/api-stub.ts";

const INSTANCE = "abc";
const OURS = "a".repeat(64);
const THEIRS = "b".repeat(64);
const MADE = "c".repeat(64);

/**
 * Two containers, one of them ours (also known by the name "web-1"); counts requests. A
 * Docker daemon: no libpod API.
 */
class OwnedStub extends ApiStub {
  readonly calls: string[] = [];

  json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    if (options.api === "libpod") {
      return Promise.reject(mapEngineError(method, path, 404, '{"message":"page not found"}'));
    }
    this.calls.push(`${method} ${path}`);
    const inspect = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (method === "GET" && inspect !== null) {
      const ref = inspect[1] ?? "";
      const id = ref === "web-1" ? OURS : ref;
      if (id !== OURS && id !== THEIRS) return Promise.resolve(undefined);
      return Promise.resolve({
        Id: id,
        Name: id === OURS ? "/web-1" : "/other",
        Image: "sha256:1",
        Config: {
          Image: "x",
          Labels: id === OURS ? { "io.slipway.instance": INSTANCE } : {},
        },
        State: { Status: "running", ExitCode: 0, OOMKilled: false, StartedAt: "" },
        NetworkSettings: { Networks: {} },
      });
    }
    if (method === "PUT" && path.endsWith("/archive")) {
      options.body?.resume();
      return Promise.resolve({});
    }
    if (method === "POST" && path.endsWith("/start")) return Promise.resolve({});
    if (method === "GET" && path === "/networks/sw-abc-web") {
      return Promise.resolve({
        Name: "sw-abc-web",
        Id: "n1",
        IPAM: { Config: [{ Subnet: "10.213.0.0/24" }] },
        Labels: { "io.slipway.instance": INSTANCE },
      });
    }
    if (method === "POST" && path === "/containers/create") return Promise.resolve({ Id: MADE });
    if (method === "GET" && path === "/containers/json") return Promise.resolve([]);
    if (method === "DELETE") return Promise.resolve({});
    return Promise.reject(new Error(`unexpected ${method} ${path}`));
  }
}

const inspects = (api: OwnedStub): number =>
  api.calls.filter((call) => call.startsWith("GET ") && call.endsWith("/json")).length;

describe("DockerEngine container ownership", () => {
  it("inspects a container once by id, a name every time, and never acts on another's", async () => {
    const api = new OwnedStub();
    const engine = engineOn(api, INSTANCE);
    await engine.putArchive(OURS, "/workspace", Readable.from([]));
    await engine.putArchive(OURS, "/workspace", Readable.from([]));
    await engine.startContainer(OURS);
    assert.equal(inspects(api), 1, "one inspect for three calls by id");
    assert.deepEqual(
      api.calls.filter((call) => !call.endsWith("/json")),
      [
        `PUT /containers/${OURS}/archive`,
        `PUT /containers/${OURS}/archive`,
        `POST /containers/${OURS}/start`,
      ],
    );

    await engine.startContainer("web-1");
    await engine.startContainer("web-1");
    assert.equal(inspects(api), 3, "a name is looked up at each call");

    await assert.rejects(engine.startContainer(THEIRS), ForbiddenError);
    await assert.rejects(engine.startContainer(THEIRS), ForbiddenError);
    assert.ok(!api.calls.includes(`POST /containers/${THEIRS}/start`));

    // The raw document of one of ours is read once, with no ownership inspect before it.
    const raw = inspects(api);
    await engine.rawInspect(OURS);
    assert.equal(inspects(api), raw + 1);
    await assert.rejects(engine.rawInspect(THEIRS), ForbiddenError);

    // Removed: the next call looks again.
    await engine.removeContainer(OURS);
    const before = inspects(api);
    await engine.startContainer(OURS);
    assert.equal(inspects(api), before + 1);
  });

  it("shares one inspect between callers that ask together, in either order, and asks again later", async () => {
    const api = new OwnedStub();
    const engine = engineOn(api, INSTANCE);
    await engine.startContainer(OURS); // known as ours from here
    const before = inspects(api);
    const [info, raw] = await Promise.all([engine.inspectContainer(OURS), engine.rawInspect(OURS)]);
    const [raw2, info2] = await Promise.all([
      engine.rawInspect(OURS),
      engine.inspectContainer(OURS),
    ]);
    assert.equal(inspects(api), before + 2, "one inspect for each pair");
    for (const document of [raw, raw2]) assert.equal((document as { Id: string }).Id, OURS);
    for (const container of [info, info2]) assert.equal(container?.name, "web-1");
    await engine.inspectContainer(OURS);
    await engine.inspectContainer(OURS);
    assert.equal(inspects(api), before + 4, "one each when asked one after the other");
  });

  it("knows a container it just made as its own", async () => {
    const api = new OwnedStub();
    const engine = engineOn(api, INSTANCE);
    const id = await engine.createContainer({
      name: "web-2",
      image: "x",
      env: {},
      labels: {},
      network: "sw-abc-web",
      limits: { memoryBytes: 2 ** 28, cpus: 0.5, pids: 256, tmpBytes: 2 ** 26 },
    });
    await engine.startContainer(id);
    assert.equal(inspects(api), 0, "no inspect between create and start");
    assert.ok(api.calls.includes(`POST /containers/${MADE}/start`));
  });

  it("checks a network's owner once, and again after it was removed", async () => {
    const api = new OwnedStub();
    const engine = engineOn(api, INSTANCE);
    const spec = (name: string) => ({
      name,
      image: "x",
      env: {},
      labels: {},
      network: "sw-abc-web",
      limits: { memoryBytes: 2 ** 28, cpus: 0.5, pids: 256, tmpBytes: 2 ** 26 },
    });
    const looks = (): number => api.calls.filter((c) => c === "GET /networks/sw-abc-web").length;
    await engine.createContainer(spec("web-3"));
    await engine.createContainer(spec("web-4"));
    assert.equal(looks(), 1);
    await engine.removeNetwork("sw-abc-web");
    await engine.createContainer(spec("web-5")).catch(() => undefined);
    assert.equal(looks(), 3, "the removal looked, and the next creation looks again");
  });

  it("forgets the oldest id past its bound", () => {
    const ids = new OwnedIds(2);
    ids.add("a");
    ids.add("b");
    ids.add("c");
    assert.deepEqual(
      ["a", "b", "c"].map((id) => ids.has(id)),
      [false, true, true],
    );
    ids.delete("b");
    assert.equal(ids.has("b"), false);
  });
});

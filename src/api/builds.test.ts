import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import type { Build } from "../domain/build.ts";
import { apiHarness, expectProblem, type ApiHarness } from "./test-harness.ts";

const LIMIT = 64 * 1024;
const archive = gzipSync(Buffer.from("pretend this is a tarball"));

const upload = (
  body: NonNullable<RequestInit["body"]> | null,
  headers: Record<string, string> = {},
): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/gzip", ...headers },
  body,
});

/** A body stream without Content-Length, delivered in chunks. */
function chunked(chunks: readonly Uint8Array[]): RequestInit {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return { ...upload(body), duplex: "half" };
}

describe("/v1/apps/:name/builds", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await apiHarness({ maxUploadBytes: LIMIT });
    await h.store.createApp("shop");
  });
  afterEach(async () => {
    await h.close();
  });

  describe("POST (upload)", () => {
    it("saves the upload, submits it and answers 201 with the build", async () => {
      const res = await h.request("/v1/apps/shop/builds", upload(archive));
      assert.equal(res.status, 201);
      const build = (await res.json()) as Build;
      assert.equal(build.status, "pending");
      assert.equal(res.headers.get("location"), `/v1/apps/shop/builds/${build.id}`);
      assert.equal(h.deps.calls.submitted.length, 1);
      assert.deepEqual(h.deps.calls.submitted[0]?.bytes, archive);
      assert.deepEqual(await h.leftovers(), []);
    });

    it("accepts a streamed upload without Content-Length", async () => {
      const res = await h.request(
        "/v1/apps/shop/builds",
        chunked([archive.subarray(0, 5), archive.subarray(5)]),
      );
      assert.equal(res.status, 201);
      assert.deepEqual(h.deps.calls.submitted[0]?.bytes, archive);
    });

    it("accepts application/x-gzip", async () => {
      const res = await h.request(
        "/v1/apps/shop/builds",
        upload(archive, { "content-type": "application/x-gzip" }),
      );
      assert.equal(res.status, 201);
    });

    it("refuses another media type with 415", async () => {
      const res = await h.request(
        "/v1/apps/shop/builds",
        upload(archive, { "content-type": "application/json" }),
      );
      await expectProblem(res, 415, "unsupported_media_type");
      assert.equal(h.deps.calls.submitted.length, 0);
    });

    it("refuses a declared Content-Length over the limit with 413 before reading", async () => {
      const res = await h.request(
        "/v1/apps/shop/builds",
        upload(archive, { "content-length": String(LIMIT + 1) }),
      );
      const problem = await expectProblem(res, 413, "payload_too_large");
      assert.match(problem.detail, new RegExp(String(LIMIT)));
      assert.equal(h.deps.calls.submitted.length, 0);
      assert.deepEqual(await h.leftovers(), []);
    });

    it("stops a streamed upload as soon as it passes the limit with 413", async () => {
      const chunk = new Uint8Array(16 * 1024);
      let pulled = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(chunk);
        },
      });
      const res = await h.request("/v1/apps/shop/builds", {
        ...upload(body),
        duplex: "half",
      });
      await expectProblem(res, 413, "payload_too_large");
      assert.ok(pulled <= LIMIT / chunk.byteLength + 3, `read ${pulled} chunks of an endless body`);
      assert.equal(h.deps.calls.submitted.length, 0);
      assert.deepEqual(await h.leftovers(), []);
      assert.deepEqual(await h.store.listBuilds((await h.store.getApp("shop"))?.id ?? ""), []);
    });

    it("refuses an empty upload with 422", async () => {
      await expectProblem(
        await h.request("/v1/apps/shop/builds", upload(new Uint8Array())),
        422,
        "invalid_input",
      );
      await expectProblem(
        await h.request("/v1/apps/shop/builds", upload(null)),
        422,
        "invalid_input",
      );
      assert.deepEqual(await h.leftovers(), []);
    });

    it("refuses a bad archive with 422, creating nothing and keeping no file", async () => {
      const res = await h.request("/v1/apps/shop/builds", upload(Buffer.from("plain text")));
      const problem = await expectProblem(res, 422, "invalid_input");
      assert.match(problem.detail, /gzip/);
      assert.deepEqual(await h.leftovers(), []);
      const app = await h.store.getApp("shop");
      assert.deepEqual(await h.store.listBuilds(app?.id ?? ""), []);
    });

    it("refuses a malformed Content-Length with 400", async () => {
      const request = new Request("http://localhost/v1/apps/shop/builds", upload(archive));
      request.headers.set("content-length", "12abc");
      request.headers.set("authorization", `Bearer ${h.token}`);
      await expectProblem(await h.api.request(request), 400, "malformed_request");
    });

    it("answers 404 for an unknown app before reading the body", async () => {
      await expectProblem(
        await h.request("/v1/apps/nope/builds", upload(archive)),
        404,
        "app_not_found",
      );
      assert.equal(h.deps.calls.submitted.length, 0);
    });
  });

  describe("GET", () => {
    it("lists builds newest first and shows one", async () => {
      const first = (await (
        await h.request("/v1/apps/shop/builds", upload(archive))
      ).json()) as Build;
      const second = (await (
        await h.request("/v1/apps/shop/builds", upload(archive))
      ).json()) as Build;
      const list = (await (await h.request("/v1/apps/shop/builds")).json()) as { items: Build[] };
      assert.deepEqual(
        list.items.map((build) => build.id),
        [second.id, first.id],
      );
      const one = await h.request(`/v1/apps/shop/builds/${first.id}`);
      assert.equal(one.status, 200);
      assert.deepEqual(await one.json(), first);
    });

    it("answers 404 for an unknown build or another app's build", async () => {
      await expectProblem(await h.request("/v1/apps/shop/builds/bld_nope"), 404, "build_not_found");
      const other = await h.store.createApp("other");
      const theirs = await h.store.createBuild(other.id, "x");
      await expectProblem(
        await h.request(`/v1/apps/shop/builds/${theirs.id}`),
        404,
        "build_not_found",
      );
      await expectProblem(
        await h.request(`/v1/apps/shop/builds/${theirs.id}/log`),
        404,
        "build_not_found",
      );
    });
  });

  describe("GET log", () => {
    const newBuild = async (): Promise<Build> =>
      (await (await h.request("/v1/apps/shop/builds", upload(archive))).json()) as Build;

    it("returns the log so far as text/plain", async () => {
      const build = await newBuild();
      const res = await h.request(`/v1/apps/shop/builds/${build.id}/log`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(
        await res.text(),
        "-----> Detecting buildpack\n-----> Node.js app detected\n-----> Done\n",
      );
      assert.equal((await h.store.getBuild(build.id))?.status, "pending");
    });

    it("follows the log line by line until the build ends", async () => {
      const build = await newBuild();
      const res = await h.request(`/v1/apps/shop/builds/${build.id}/log?follow=1`);
      const reader = res.body?.pipeThrough(new TextDecoderStream()).getReader();
      assert.ok(reader);
      const first = await reader.read();
      assert.equal(first.value, "-----> Detecting buildpack\n");
      let rest = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += chunk.value;
      }
      assert.equal(rest, "-----> Node.js app detected\n-----> Done\n");
      assert.equal((await h.store.getBuild(build.id))?.status, "succeeded");
    });

    it("aborts following when the client goes away", async () => {
      const build = await newBuild();
      const res = await h.request(`/v1/apps/shop/builds/${build.id}/log?follow=true`);
      await res.body?.cancel();
      assert.equal(h.deps.calls.logSignals.at(-1)?.aborted, true);
    });

    it("validates the follow parameter", async () => {
      const build = await newBuild();
      const bad = await expectProblem(
        await h.request(`/v1/apps/shop/builds/${build.id}/log?follow=maybe`),
        422,
        "invalid_input",
      );
      assert.deepEqual(bad.errors, ['follow: expected 1, true, 0 or false, got "maybe"']);
      const unknown = await expectProblem(
        await h.request(`/v1/apps/shop/builds/${build.id}/log?tail=5`),
        422,
        "invalid_input",
      );
      assert.deepEqual(unknown.errors, ["tail: unknown field"]);
      const twice = await expectProblem(
        await h.request(`/v1/apps/shop/builds/${build.id}/log?follow=1&follow=0`),
        422,
        "invalid_input",
      );
      assert.deepEqual(twice.errors, ["follow: given more than once"]);
    });
  });
});

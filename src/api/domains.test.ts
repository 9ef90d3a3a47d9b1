import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { makeTestCertificates } from "../router/acme/test-certs.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { createApi } from "./api.ts";
import { covers } from "./domains.ts";
import { createTestToken, fakeDeps } from "./fake-deps.ts";
import { expectProblem } from "./test-harness.ts";

const certs = makeTestCertificates();

describe("/v1/apps/:name/domains, /certs, /metrics and the ACME challenge", () => {
  let store: SqliteStore;
  let installed: string[];
  let request: (path: string, init?: RequestInit) => Promise<Response>;
  let api: ReturnType<typeof createApi>;

  beforeEach(async () => {
    store = new SqliteStore(":memory:");
    installed = [];
    api = createApi({
      ...fakeDeps(store, { uploadDir: "/nonexistent" }),
      domains: {
        platformDomain: "slipway.localhost",
        acmeEnabled: true,
        installCertificate: (hostname) => {
          installed.push(hostname);
          return Promise.resolve();
        },
        removeCertificate: () => Promise.resolve(),
        challenge: (token) => (token === "tok" ? "tok.thumb" : undefined),
      },
      metrics: {
        collect: () => Promise.resolve([]),
        accessLog: () => [],
      },
    });
    const { secret } = await createTestToken(store);
    request = (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${secret}`);
      if (init.body !== undefined) headers.set("content-type", "application/json");
      return Promise.resolve(api.request(path, { ...init, headers }));
    };
    await store.createApp("shop");
    await store.createApp("other");
  });
  afterEach(async () => {
    await store.close();
  });

  const post = (path: string, body: unknown) =>
    request(path, { method: "POST", body: JSON.stringify(body) });

  it("adds, lists and removes domains; a claimed domain is a 409", async () => {
    const res = await post("/v1/apps/shop/domains", { hostname: "WWW.Example.com" });
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as { hostname: string }).hostname, "www.example.com");
    await expectProblem(
      await post("/v1/apps/other/domains", { hostname: "www.example.com" }),
      409,
      "conflict",
    );
    const list = (await (await request("/v1/apps/shop/domains")).json()) as {
      items: { hostname: string; certSource: string }[];
    };
    assert.deepEqual(
      list.items.map((d) => [d.hostname, d.certSource]),
      [["www.example.com", "acme"]],
    );
    await expectProblem(
      await request("/v1/apps/other/domains/www.example.com", { method: "DELETE" }),
      404,
      "domain_not_found",
    );
    const removed = await request("/v1/apps/shop/domains/www.example.com", { method: "DELETE" });
    assert.equal(removed.status, 204);
  });

  it("refuses invalid names and the platform's own namespace, changing nothing", async () => {
    for (const hostname of [
      "a b.com",
      "x.com\nuse_backend y",
      "shop.slipway.localhost",
      "*.a.com",
    ]) {
      await expectProblem(await post("/v1/apps/shop/domains", { hostname }), 422, "invalid_input");
    }
    assert.deepEqual(await store.listDomains(), []);
  });

  it("installs a valid certificate, spreading a wildcard, and refuses bad ones with the reason", async () => {
    await post("/v1/apps/shop/domains", { hostname: "a.example.org" });
    await post("/v1/apps/shop/domains", { hostname: "b.example.org" });
    await post("/v1/apps/shop/domains", { hostname: "example.org" });
    const wildcard = certs.leaf(["*.example.org"]);
    const wrong = certs.leaf(["www.other.net"]);
    const bad = await post("/v1/apps/shop/certs", {
      domain: "a.example.org",
      certificate: wrong.cert,
      key: wrong.key,
    });
    const problem = await expectProblem(bad, 422, "invalid_input");
    assert.match(problem.detail, /does not cover a\.example\.org/);
    const mismatch = await post("/v1/apps/shop/certs", {
      domain: "a.example.org",
      certificate: wildcard.cert,
      key: wrong.key,
    });
    assert.match((await expectProblem(mismatch, 422, "invalid_input")).detail, /does not belong/);
    assert.deepEqual(installed, []);
    const ok = await post("/v1/apps/shop/certs", {
      domain: "a.example.org",
      certificate: wildcard.cert + certs.intermediate.cert,
      key: wildcard.key,
    });
    assert.equal(ok.status, 201);
    assert.deepEqual(installed, ["a.example.org", "b.example.org"]);
    const status = (await (await request("/v1/apps/shop/certs")).json()) as {
      items: { domain: string; source: string; status: string }[];
    };
    assert.deepEqual(
      status.items.map((c) => [c.domain, c.source, c.status]),
      [
        ["a.example.org", "manual", "issued"],
        ["b.example.org", "manual", "issued"],
        ["example.org", "acme", "pending"],
      ],
    );
    await expectProblem(
      await post("/v1/apps/other/certs", {
        domain: "a.example.org",
        certificate: wildcard.cert,
        key: wildcard.key,
      }),
      404,
      "domain_not_found",
    );
  });

  it("answers ACME challenges without credentials, and only known tokens", async () => {
    const res = await api.request("/.well-known/acme-challenge/tok");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "tok.thumb");
    assert.equal((await api.request("/.well-known/acme-challenge/nope")).status, 404);
  });

  it("protects /metrics with the bearer token and serves app metrics", async () => {
    assert.equal((await api.request("/metrics")).status, 401);
    const res = await request("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain; version=0.0.4/);
    const app = (await (await request("/v1/apps/shop/metrics")).json()) as {
      items: { app: string; requestsTotal: number }[];
    };
    assert.deepEqual(
      app.items.map((m) => [m.app, m.requestsTotal]),
      [["shop", 0]],
    );
  });

  it("matches wildcards one label deep", () => {
    assert.ok(covers(["*.example.org"], "a.example.org"));
    assert.ok(!covers(["*.example.org"], "example.org"));
    assert.ok(!covers(["*.example.org"], "a.b.example.org"));
    assert.ok(covers(["example.org"], "example.org"));
  });
});

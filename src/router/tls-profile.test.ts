import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_POLICY } from "../domain/router-policy.ts";
import { ValidationError } from "../domain/errors.ts";
import type { RouteTable } from "./router.ts";
import { crtListLines } from "./tls-profile.ts";

const modern = { ...DEFAULT_POLICY, tls: "modern" as const };

describe("crtListLines", () => {
  it("serves the default first, custom domains by SNI, modern hosts with TLS 1.3 only", () => {
    const table: RouteTable = {
      apps: [
        { app: "b", hosts: ["b.example.com", "www.b.io"], endpoints: [], policy: modern },
        { app: "a", hosts: ["a.example.com", "shop.a.io"], endpoints: [], policy: DEFAULT_POLICY },
        { app: "c", hosts: ["c.example.com"], endpoints: [] },
      ],
      certificates: [
        { host: "www.b.io", pem: "/certs/www.b.io.pem" },
        { host: "shop.a.io", pem: "/certs/shop.a.io.pem" },
      ],
    };
    assert.deepEqual(crtListLines(table, "/certs/default.pem", "example.com"), [
      "/certs/default.pem\n",
      "/certs/shop.a.io.pem shop.a.io\n",
      "/certs/www.b.io.pem [ssl-min-ver TLSv1.3] www.b.io\n",
      "/certs/default.pem [ssl-min-ver TLSv1.3] b.example.com\n",
    ]);
  });

  it("is the same for any order of apps and certificates", () => {
    const apps = [
      { app: "x", hosts: ["x.example.com"], endpoints: [], policy: modern },
      { app: "y", hosts: ["y.example.com"], endpoints: [], policy: modern },
    ];
    const certificates = [
      { host: "a.io", pem: "/c/a.pem" },
      { host: "b.io", pem: "/c/b.pem" },
    ];
    assert.deepEqual(
      crtListLines({ apps, certificates }, "/d.pem", "example.com"),
      crtListLines(
        { apps: [...apps].reverse(), certificates: [...certificates].reverse() },
        "/d.pem",
        "example.com",
      ),
    );
  });

  it("refuses host names and paths that could add options or lines", () => {
    const hosts = [
      "a b.io",
      "a.io\r\nx",
      '"a.io"',
      "${X}.io",
      "a.io [alpn h2]",
      "a.io\n/etc/passwd",
      "*.a.io",
    ];
    for (const host of hosts) {
      assert.throws(
        () => crtListLines({ apps: [], certificates: [{ host, pem: "/c/a.pem" }] }, "/d.pem", "x"),
        ValidationError,
        JSON.stringify(host),
      );
    }
    for (const pem of ["relative.pem", "/a.pem [ssl-min-ver TLSv1.0]", "/a.pem\n/b.pem", "/a b"]) {
      assert.throws(
        () => crtListLines({ apps: [], certificates: [{ host: "a.io", pem }] }, "/d.pem", "x"),
        ValidationError,
        JSON.stringify(pem),
      );
      assert.throws(() => crtListLines({ apps: [] }, pem, "x"), ValidationError);
    }
  });
});

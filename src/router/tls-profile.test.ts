import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_POLICY } from "../domain/router-policy.ts";
import { modernTlsLines } from "./tls-profile.ts";

describe("modernTlsLines", () => {
  it("adds an ssl-min-ver TLSv1.3 SNI line per platform host of a modern app", () => {
    const modern = { ...DEFAULT_POLICY, tls: "modern" as const };
    const lines = modernTlsLines(
      {
        apps: [
          { app: "b", hosts: ["b.example.com", "www.b.io"], endpoints: [], policy: modern },
          { app: "a", hosts: ["a.example.com"], endpoints: [], policy: DEFAULT_POLICY },
          { app: "c", hosts: ["c.example.com"], endpoints: [] },
        ],
      },
      "/certs/default.pem",
      "example.com",
    );
    assert.deepEqual(lines, ["/certs/default.pem [ssl-min-ver TLSv1.3] b.example.com\n"]);
  });
});

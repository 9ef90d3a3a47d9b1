import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { endpointOnlyChange } from "./runtime-diff.ts";

const cfg = (servers: string[], extra = ""): string =>
  [
    "frontend https",
    "    use_backend app_shop if { var(txn.host) -m str shop.x }",
    extra,
    "",
    "backend app_shop",
    "    balance roundrobin",
    ...servers.map((s) => `    server ${s}`),
    "",
    "backend platform_api",
    "    server api unix@/run/api.sock",
    "",
  ].join("\n");

describe("endpointOnlyChange", () => {
  it("finds added and removed servers of app backends", () => {
    assert.deepEqual(
      endpointOnlyChange(
        cfg(["a 10.0.0.2:5000", "b 10.0.0.3:5000"]),
        cfg(["b 10.0.0.3:5000", "c 10.0.0.4:5000"]),
      ),
      {
        add: [{ backend: "app_shop", name: "c", address: "10.0.0.4:5000" }],
        remove: [{ backend: "app_shop", name: "a" }],
      },
    );
  });

  it("needs a reload for anything else", () => {
    assert.equal(endpointOnlyChange(cfg(["a 10.0.0.2:5000"]), cfg(["a 10.0.0.2:5000"])), null);
    assert.equal(endpointOnlyChange(cfg(["a 10.0.0.2:5000"]), cfg(["a 10.0.0.9:5000"])), null);
    assert.equal(
      endpointOnlyChange(cfg(["a 10.0.0.2:5000"]), cfg(["b 10.0.0.3:5000"], "    # other")),
      null,
    );
    const withPlatform = cfg(["a 10.0.0.2:5000"]).replace("unix@/run/api.sock", "unix@/x");
    assert.equal(endpointOnlyChange(cfg(["a 10.0.0.2:5000"]), withPlatform), null);
  });
});

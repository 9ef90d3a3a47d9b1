import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../../domain/errors.ts";
import {
  bridgeName,
  formatCidr,
  gatewayOf,
  overlaps,
  parseCidr,
  pickSubnet,
  routesFromProcNetRoute,
} from "./subnets.ts";

describe("parseCidr", () => {
  it("parses and clears host bits", () => {
    assert.equal(formatCidr(parseCidr("10.213.7.9/16")), "10.213.0.0/16");
    assert.equal(formatCidr(parseCidr("0.0.0.0/0")), "0.0.0.0/0");
    assert.equal(formatCidr(parseCidr("255.255.255.255/32")), "255.255.255.255/32");
  });

  for (const bad of ["10.213.0.0", "10.213.0.256/16", "10.213.0.0/33", "fd00::/64", ""]) {
    it(`refuses "${bad}"`, () => {
      assert.throws(() => parseCidr(bad), ValidationError);
    });
  }
});

describe("overlaps", () => {
  const table: [string, string, boolean][] = [
    ["10.213.0.0/16", "10.213.5.0/24", true],
    ["10.213.5.0/24", "10.213.5.128/25", true],
    ["10.213.5.0/24", "10.213.6.0/24", false],
    ["10.0.0.0/8", "11.0.0.0/8", false],
    ["0.0.0.0/0", "192.0.2.0/24", true],
  ];
  for (const [a, b, expected] of table) {
    it(`${a} and ${b}: ${expected}`, () => {
      assert.equal(overlaps(parseCidr(a), parseCidr(b)), expected);
      assert.equal(overlaps(parseCidr(b), parseCidr(a)), expected);
    });
  }
});

describe("pickSubnet", () => {
  const pool = parseCidr("10.213.0.0/16");

  it("starts where the seed says and skips used ranges", () => {
    const first = pickSubnet(pool, 5, []);
    assert.equal(first && formatCidr(first), "10.213.5.0/24");
    const next = pickSubnet(pool, 5, [parseCidr("10.213.5.0/24"), parseCidr("10.213.6.0/23")]);
    assert.equal(next && formatCidr(next), "10.213.8.0/24");
  });

  it("wraps around the end of the pool", () => {
    const picked = pickSubnet(pool, 255, [parseCidr("10.213.255.0/24")]);
    assert.equal(picked && formatCidr(picked), "10.213.0.0/24");
  });

  it("returns undefined when the pool is exhausted", () => {
    assert.equal(
      pickSubnet(parseCidr("10.213.0.0/23"), 0, [parseCidr("10.213.0.0/23")]),
      undefined,
    );
  });

  it("refuses a pool smaller than a /24", () => {
    assert.throws(() => pickSubnet(parseCidr("10.213.0.0/25"), 0, []), ValidationError);
  });

  it("puts the gateway on the first address", () => {
    assert.equal(gatewayOf(parseCidr("10.213.9.0/24")), "10.213.9.1");
  });
});

describe("bridgeName", () => {
  it("fits Linux's 15 characters and differs per instance, network and attempt", () => {
    const names = [
      bridgeName("abc", "sw-abc-shop"),
      bridgeName("abd", "sw-abc-shop"),
      bridgeName("abc", "sw-abc-shoq"),
      bridgeName("abc", "sw-abc-shop", 1),
    ];
    assert.equal(new Set(names).size, 4);
    for (const name of names) assert.match(name, /^sw[0-9a-f]{12}$/);
    assert.equal(bridgeName("abc", "sw-abc-shop"), names[0]);
  });
});

describe("routesFromProcNetRoute", () => {
  it("reads destinations and masks, without the default route", () => {
    const text = [
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
      "swtest0\t00054D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
      "podman0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
      "",
    ].join("\n");
    assert.deepEqual(routesFromProcNetRoute(text).map(formatCidr), [
      "10.77.5.0/24",
      "10.88.0.0/16",
    ]);
  });
});

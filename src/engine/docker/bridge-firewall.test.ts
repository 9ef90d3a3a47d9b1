import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import {
  bridgeRule,
  DROP_CHAIN,
  ISOLATION_CHAIN,
  ISOLATION_JUMP,
  IptablesBridgeFirewall,
  isolationCommands,
  releaseCommands,
} from "./bridge-firewall.ts";

/** Just enough of iptables' filter table: -S, -N, -A, -I, -D; prints rules as given. */
class FakeIptables {
  readonly chains = new Map<string, string[]>([["FORWARD", []]]);
  readonly calls: string[] = [];

  run = (args: readonly string[]): Promise<string> => {
    this.calls.push(args.join(" "));
    const [op, chain = "", ...rest] = args;
    const rules = this.chains.get(chain);
    const fail = (): Promise<string> =>
      Promise.reject(new DriverError("firewall", `iptables ${args.join(" ")} failed`));
    if (op === "-S") {
      const lines = [...this.chains.entries()].flatMap(([name, list]) => [
        name === "FORWARD" ? "-P FORWARD ACCEPT" : `-N ${name}`,
        ...list.map((rule) => `-A ${name} ${rule}`),
      ]);
      return Promise.resolve(lines.join("\n"));
    }
    if (op === "-N") {
      if (rules) return fail();
      this.chains.set(chain, []);
    } else if (op === "-A" && rules) {
      rules.push(rest.join(" "));
    } else if (op === "-I" && rules) {
      rules.splice(Number(rest[0]) - 1, 0, rest.slice(1).join(" "));
    } else if (op === "-D" && rules?.includes(rest.join(" "))) {
      rules.splice(rules.indexOf(rest.join(" ")), 1);
    } else {
      return fail();
    }
    return Promise.resolve("");
  };
}

const JUMP = ISOLATION_JUMP.join(" ");
const abc = { instance: "i1", network: "sw-i1-shop", bridge: "swabc" };
const def = { instance: "i1", network: "sw-i1-blog", bridge: "swdef" };
const DROPS = [
  "-o sw+ -j DROP",
  "-o podman+ -j DROP",
  "-o docker+ -j DROP",
  "-o br-+ -j DROP",
  "-o cni+ -j DROP",
];

describe("IptablesBridgeFirewall", () => {
  it("creates the chains, the drop rules, the bridge rule and the jump, once", async () => {
    const iptables = new FakeIptables();
    const firewall = new IptablesBridgeFirewall(iptables.run);
    await firewall.isolate(abc);
    iptables.calls.length = 0;
    await firewall.isolate(abc);
    assert.deepEqual(iptables.calls, ["-S"], "a converged table costs one read");
    assert.deepEqual(iptables.chains.get("FORWARD"), [`-i sw+ -j ${ISOLATION_CHAIN}`]);
    assert.deepEqual(iptables.chains.get(ISOLATION_CHAIN), [bridgeRule(abc).join(" ")]);
    assert.deepEqual(iptables.chains.get(DROP_CHAIN), DROPS);
  });

  it("moves its jump in front of netavark's accepting chain", async () => {
    const iptables = new FakeIptables();
    const firewall = new IptablesBridgeFirewall(iptables.run);
    await firewall.isolate(abc);
    iptables.chains.get("FORWARD")?.unshift("-m comment --comment x -j NETAVARK_FORWARD");
    await firewall.isolate(def);
    assert.deepEqual(iptables.chains.get("FORWARD"), [
      JUMP,
      "-m comment --comment x -j NETAVARK_FORWARD",
    ]);
    assert.equal(iptables.chains.get(ISOLATION_CHAIN)?.length, 2);
  });

  it("plans again when another installation created a chain meanwhile", async () => {
    const iptables = new FakeIptables();
    let raced = false;
    const firewall = new IptablesBridgeFirewall((args) => {
      if (!raced && args[0] === "-N") {
        raced = true;
        iptables.chains.set(ISOLATION_CHAIN, []);
      }
      return iptables.run(args);
    });
    await firewall.isolate(abc);
    assert.deepEqual(iptables.chains.get(ISOLATION_CHAIN), [bridgeRule(abc).join(" ")]);
  });

  it("releases one bridge and keeps the others", async () => {
    const iptables = new FakeIptables();
    const firewall = new IptablesBridgeFirewall(iptables.run);
    await firewall.isolate(abc);
    await firewall.isolate(def);
    await firewall.release(abc);
    await firewall.release(abc);
    assert.deepEqual(iptables.chains.get(ISOLATION_CHAIN), [bridgeRule(def).join(" ")]);
  });

  it("refuses what is not an interface name", () => {
    assert.throws(() => bridgeRule({ ...abc, bridge: "sw; rm -rf /" }), DriverError);
    assert.throws(() => bridgeRule({ ...abc, bridge: "a-name-longer-than-15" }), DriverError);
    assert.throws(() => bridgeRule({ ...abc, network: "a b" }), DriverError);
    assert.throws(() => bridgeRule({ ...abc, bridge: "podman1" }), /not a Slipway bridge/);
  });
});

describe("isolationCommands", () => {
  const converged = [
    "-P FORWARD ACCEPT",
    `-N ${ISOLATION_CHAIN}`,
    `-N ${DROP_CHAIN}`,
    ...DROPS.map((rule) => `-A ${DROP_CHAIN} ${rule}`),
    `-A ${ISOLATION_CHAIN} ${bridgeRule(abc).join(" ")}`,
  ];
  const table: [string, string[], string[][]][] = [
    ["jump first", [`-A FORWARD ${JUMP}`, "-A FORWARD -j NETAVARK_FORWARD"], []],
    [
      "jump after netavark's own isolation jump",
      ["-A FORWARD -j NETAVARK_ISOLATION_1", `-A FORWARD ${JUMP}`],
      [],
    ],
    [
      "jump missing",
      ["-A FORWARD -m comment --comment x -j NETAVARK_FORWARD"],
      [["-I", "FORWARD", "1", ...ISOLATION_JUMP]],
    ],
    [
      "jump after an ACCEPT",
      ["-A FORWARD -i eth0 -j ACCEPT", `-A FORWARD ${JUMP}`],
      [
        ["-D", "FORWARD", ...ISOLATION_JUMP],
        ["-I", "FORWARD", "1", ...ISOLATION_JUMP],
      ],
    ],
    [
      "an earlier installation's jump for every packet, replaced after ours is in",
      [`-A FORWARD -j ${ISOLATION_CHAIN}`, "-A FORWARD -j NETAVARK_FORWARD"],
      [
        ["-I", "FORWARD", "1", ...ISOLATION_JUMP],
        ["-D", "FORWARD", "-j", ISOLATION_CHAIN],
      ],
    ],
  ];
  for (const [what, forward, expected] of table) {
    it(what, () => {
      assert.deepEqual(isolationCommands([...converged, ...forward].join("\n"), abc), expected);
    });
  }

  it("removes every copy of a network's rule, by its comment", () => {
    const rule = `-A ${ISOLATION_CHAIN} ${bridgeRule(abc).join(" ")}`;
    const other = `-A ${ISOLATION_CHAIN} ${bridgeRule(def).join(" ")}`;
    const table = [rule, rule, other, "-A X y"].join("\n");
    assert.equal(releaseCommands(table, abc).length, 2);
    assert.equal(releaseCommands(table, { instance: "i1", network: "sw-i1-shop" }).length, 2);
    assert.equal(releaseCommands(table, { ...abc, instance: "i2" }).length, 0);
  });

  it("replaces and releases a rule an earlier version wrote without a comment", () => {
    const untagged = `-A ${ISOLATION_CHAIN} -i swabc ! -o swabc -j ${DROP_CHAIN}`;
    const table = [
      ...converged.filter((l) => !l.includes("swabc")),
      `-A FORWARD ${JUMP}`,
      untagged,
    ];
    assert.deepEqual(isolationCommands(table.join("\n"), abc), [
      ["-A", ISOLATION_CHAIN, ...bridgeRule(abc)],
      ["-D", ISOLATION_CHAIN, "-i", "swabc", "!", "-o", "swabc", "-j", DROP_CHAIN],
    ]);
    assert.deepEqual(releaseCommands(untagged, abc), [
      ["-D", ISOLATION_CHAIN, "-i", "swabc", "!", "-o", "swabc", "-j", DROP_CHAIN],
    ]);
  });
});

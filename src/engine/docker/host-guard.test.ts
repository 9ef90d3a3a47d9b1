import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DriverError } from "../../domain/errors.ts";
import {
  FORWARD6_CHAIN,
  guardCommands,
  guardRules,
  HostGuard,
  INPUT_CHAIN,
  unguardCommands,
  type HostGuardNetwork,
} from "./host-guard.ts";
import { splitRuleLine, type Family } from "./iptables.ts";

const net: HostGuardNetwork = {
  instance: "abc",
  network: "sw-abc-shop",
  bridge: "swabc1",
  gateway: "10.9.8.1",
};
const other: HostGuardNetwork = { ...net, network: "sw-abc-blog", bridge: "swabc2" };

/** Two filter tables (iptables, ip6tables) with -S, -N, -A, -I, -D; -S quotes comments. */
class FakeTables {
  readonly tables = new Map<Family, Map<string, string[]>>([
    [
      "ipv4",
      new Map([
        ["INPUT", []],
        ["FORWARD", []],
      ]),
    ],
    [
      "ipv6",
      new Map([
        ["INPUT", []],
        ["FORWARD", []],
      ]),
    ],
  ]);
  calls = 0;

  run = (family: Family, args: readonly string[]): Promise<string> => {
    this.calls++;
    const chains = this.tables.get(family) ?? new Map<string, string[]>();
    const [op, chain = "", ...rest] = args;
    const rules = chains.get(chain);
    const quote = (list: readonly string[]): string =>
      list.map((a) => (a.includes(":") ? `"${a}"` : a)).join(" ");
    const text = quote(rest);
    if (op === "-S") {
      return Promise.resolve(
        [...chains.entries()]
          .flatMap(([name, list]) => [
            name === "INPUT" || name === "FORWARD" ? `-P ${name} ACCEPT` : `-N ${name}`,
            ...list.map((rule) => `-A ${name} ${rule}`),
          ])
          .join("\n"),
      );
    }
    if (op === "-N" && !rules) chains.set(chain, []);
    else if (op === "-A" && rules) rules.push(text);
    else if (op === "-I" && rules) rules.splice(Number(rest[0]) - 1, 0, quote(rest.slice(1)));
    else if (op === "-D" && rules?.includes(text)) rules.splice(rules.indexOf(text), 1);
    else return Promise.reject(new DriverError("firewall", `${args.join(" ")} failed`));
    return Promise.resolve("");
  };

  chain(family: Family, name: string): string[] {
    return this.tables.get(family)?.get(name) ?? [];
  }
}

describe("guardRules", () => {
  it("accepts DNS to the gateway and the router's ports, then drops", () => {
    const v4 = guardRules(net, [8080, 8443, 8080]).filter((r) => r.family === "ipv4");
    assert.deepEqual(
      v4.map((r) => r.rule.join(" ")),
      [
        "-i swabc1 -d 10.9.8.1/32 -p udp -m udp --dport 53 -m comment --comment slipway:abc:sw-abc-shop -j ACCEPT",
        "-i swabc1 -d 10.9.8.1/32 -p tcp -m tcp --dport 53 -m comment --comment slipway:abc:sw-abc-shop -j ACCEPT",
        "-i swabc1 -p tcp -m multiport --dports 8080,8443 -m comment --comment slipway:abc:sw-abc-shop -j ACCEPT",
        "-i swabc1 -m comment --comment slipway:abc:sw-abc-shop -j DROP",
      ],
    );
  });

  it("drops all IPv6 from the bridge, to the host and through it", () => {
    const v6 = guardRules(net, []).filter((r) => r.family === "ipv6");
    assert.deepEqual(
      v6.map((r) => r.chain),
      [INPUT_CHAIN, FORWARD6_CHAIN],
    );
    for (const r of v6) assert.equal(r.rule.at(-1), "DROP");
  });

  it("refuses names that could smuggle arguments", () => {
    assert.throws(() => guardRules({ ...net, bridge: "sw; rm" }, []), DriverError);
    assert.throws(() => guardRules({ ...net, gateway: "10.0.0.1 -j ACCEPT" }, []), DriverError);
    assert.throws(() => guardRules({ ...net, network: "a b" }, []), DriverError);
  });

  it("refuses a bridge its jump would never send to the chain", () => {
    assert.throws(() => guardRules({ ...net, bridge: "podman1" }, []), /not a Slipway bridge/);
  });
});

describe("HostGuard", () => {
  it("installs the chains, the jumps and the rules once, and removes them by comment", async () => {
    const fake = new FakeTables();
    const guard = new HostGuard([80, 443], fake.run);
    await guard.guard(net);
    await guard.guard(other);
    assert.deepEqual(fake.chain("ipv4", "INPUT"), [`-i sw+ -j ${INPUT_CHAIN}`]);
    assert.deepEqual(fake.chain("ipv6", "INPUT"), [`-i sw+ -j ${INPUT_CHAIN}`]);
    assert.deepEqual(fake.chain("ipv6", "FORWARD"), [`-i sw+ -j ${FORWARD6_CHAIN}`]);
    const answers =
      '-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "slipway:answers" -j ACCEPT';
    assert.equal(fake.chain("ipv4", INPUT_CHAIN)[0], answers);
    assert.equal(fake.chain("ipv4", INPUT_CHAIN).length, 9);
    fake.calls = 0;
    await guard.guard(net);
    assert.equal(fake.calls, 2, "a converged network costs one read per family");
    await guard.unguard("abc", "sw-abc-shop");
    await guard.unguard("abc", "sw-abc-shop");
    const [first, ...rest] = fake.chain("ipv4", INPUT_CHAIN);
    assert.equal(first, answers, "the shared rule stays");
    assert.ok(rest.every((r) => r.includes("sw-abc-blog")));
    assert.equal(rest.length, 4);
    assert.equal(fake.chain("ipv6", INPUT_CHAIN).length, 1);
    assert.equal(fake.chain("ipv6", FORWARD6_CHAIN).length, 1);
  });

  it("reads both families' tables at once", async () => {
    const fake = new FakeTables();
    // Each family's read waits until the other's started: one after the other fails.
    const started = new Set<Family>();
    let bothStarted: () => void = () => undefined;
    const both = new Promise<void>((resolve) => (bothStarted = resolve));
    const run = async (family: Family, args: readonly string[]): Promise<string> => {
      if (args[0] === "-S") {
        started.add(family);
        if (started.size === 2) bothStarted();
        const late = sleep(1000).then(() => {
          throw new Error(`the other family was not read while ${family} was`);
        });
        late.catch(() => undefined);
        await Promise.race([both, late]);
      }
      return fake.run(family, args);
    };
    await new HostGuard([443], run).guard(net);
    assert.equal(fake.chain("ipv6", FORWARD6_CHAIN).length, 1);
  });

  it("rewrites a network's rules when one went missing, keeping DROP last", async () => {
    const fake = new FakeTables();
    const guard = new HostGuard([443], fake.run);
    await guard.guard(net);
    fake.chain("ipv4", INPUT_CHAIN).splice(1, 1);
    await guard.guard(net);
    const rules = fake.chain("ipv4", INPUT_CHAIN);
    assert.equal(rules.length, 5);
    assert.ok(rules[0]?.includes("slipway:answers"));
    assert.ok(rules.at(-1)?.endsWith("-j DROP"));
  });

  it("moves its jump back in front when something was inserted before it", () => {
    const table = [
      "-P INPUT ACCEPT",
      `-N ${INPUT_CHAIN}`,
      "-A INPUT -i eth0 -j ACCEPT",
      `-A INPUT -i sw+ -j ${INPUT_CHAIN}`,
    ].join("\n");
    const commands = guardCommands(table, "ipv4", net, []);
    assert.deepEqual(commands.slice(0, 2), [
      ["-D", "INPUT", "-i", "sw+", "-j", INPUT_CHAIN],
      ["-I", "INPUT", "1", "-i", "sw+", "-j", INPUT_CHAIN],
    ]);
  });

  it("upgrades an earlier installation's rules: a jump for every packet, answers per app", async () => {
    const fake = new FakeTables();
    const tag = (n: string): string => `-m comment --comment "slipway:abc:${n}"`;
    fake.tables.get("ipv4")?.set("INPUT", [`-j ${INPUT_CHAIN}`, "-i eth0 -j ACCEPT"]);
    fake.tables
      .get("ipv4")
      ?.set(INPUT_CHAIN, [
        `-i swabc1 -m conntrack --ctstate RELATED,ESTABLISHED ${tag("sw-abc-shop")} -j ACCEPT`,
        `-i swabc1 -d 10.9.8.1/32 -p udp -m udp --dport 53 ${tag("sw-abc-shop")} -j ACCEPT`,
        `-i swabc1 -d 10.9.8.1/32 -p tcp -m tcp --dport 53 ${tag("sw-abc-shop")} -j ACCEPT`,
        `-i swabc1 -p tcp -m multiport --dports 443 ${tag("sw-abc-shop")} -j ACCEPT`,
        `-i swabc1 ${tag("sw-abc-shop")} -j DROP`,
      ]);
    await new HostGuard([443], fake.run).guard(net);
    assert.deepEqual(fake.chain("ipv4", "INPUT"), [
      `-i sw+ -j ${INPUT_CHAIN}`,
      "-i eth0 -j ACCEPT",
    ]);
    const rules = fake.chain("ipv4", INPUT_CHAIN);
    assert.equal(rules.length, 5);
    assert.ok(rules[0]?.includes("slipway:answers"));
    assert.ok(rules.slice(1).every((r) => !r.includes("ESTABLISHED")));
    assert.ok(rules.at(-1)?.endsWith("-j DROP"));
  });

  it("never touches another installation's rules", () => {
    const table = `-A ${INPUT_CHAIN} -i swx -m comment --comment "slipway:other:sw-abc-shop" -j DROP`;
    assert.deepEqual(unguardCommands(table, "abc", "sw-abc-shop"), []);
  });
});

describe("splitRuleLine", () => {
  it("reads quoted comments as one argument", () => {
    assert.deepEqual(splitRuleLine('-A X -m comment --comment "a b\\"c" -j DROP'), [
      "-A",
      "X",
      "-m",
      "comment",
      "--comment",
      'a b"c',
      "-j",
      "DROP",
    ]);
  });
});

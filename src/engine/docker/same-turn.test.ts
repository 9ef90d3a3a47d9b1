import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { SameTurnRequests } from "./same-turn.ts";

describe("SameTurnRequests", () => {
  it("shares one request among callers that ask before the event loop runs, per key", async () => {
    const requests = new SameTurnRequests<string>();
    let asked = 0;
    const request = (answer: string) => () => {
      asked += 1;
      return Promise.resolve(answer);
    };
    const first = requests.ask("a", request("a1"));
    const second = requests.ask("a", request("a2"));
    const other = requests.ask("b", request("b1"));
    assert.equal(first, second);
    assert.deepEqual(await Promise.all([first, second, other]), ["a1", "a1", "b1"]);
    assert.equal(asked, 2);
  });

  it("asks anew once the event loop ran, and after a failure", async () => {
    const requests = new SameTurnRequests<string>();
    let asked = 0;
    const failing = () => {
      asked += 1;
      return Promise.reject(new Error(`failure ${String(asked)}`));
    };
    await assert.rejects(requests.ask("a", failing), /failure 1/);
    await nextTurn();
    await assert.rejects(requests.ask("a", failing), /failure 2/);
    assert.equal(asked, 2);
  });
});

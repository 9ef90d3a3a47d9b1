import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ProcessInfo } from "../../api/deps.ts";
import { processTable } from "./ps.ts";

const now = Date.parse("2026-11-30T05:00:00Z");
const web: ProcessInfo = {
  id: "77498ab21f0a",
  type: "web",
  release: 1,
  state: "running",
  startedAt: "2026-11-30T04:59:15Z",
  address: "10.0.0.2:5000",
  ready: true,
  size: "S",
  restarts: 0,
};

/** The STATE column of the table's only row. */
function state(p: ProcessInfo): string {
  const [header = "", row = ""] = processTable([p], now).split("\n");
  const at = header.indexOf("STATE");
  return row.slice(at).split(/\s{2,}/)[0] ?? "";
}

describe("processTable", () => {
  it("says running, starting, unresponsive or the crash loop", () => {
    assert.equal(state(web), "running");
    assert.equal(state({ ...web, ready: false }), "starting");
    assert.equal(state({ ...web, ready: false, unresponsive: true }), "unresponsive");
    assert.equal(state({ ...web, crashLoop: true }), "running (crash-loop)");
  });

  it("shows the uptime of a running container", () => {
    assert.match(processTable([web], now), /\b45s\b/);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { auditContainer } from "../../security/audit/container-audit.ts";
import { auditTable } from "./doctor.ts";

describe("doctor's table", () => {
  it("shows every item with its id, standard, result and reason", () => {
    const audit = auditContainer({ Id: "c1", Name: "/web", HostConfig: { Privileged: true } });
    const lines = auditTable(audit).trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^ITEM\s+STANDARD\s+RESULT\s+CHECK\s+REASON$/);
    assert.equal(lines.length, audit.items.length + 1);
    assert.ok(lines.some((l) => /^5\.4\s+CIS Docker 1\.6\s+FAIL\s+.*privileged$/.test(l)));
    assert.ok(lines.some((l) => /^5\.6\s+CIS Docker 1\.6\s+SKIP\s/.test(l)));
  });
});

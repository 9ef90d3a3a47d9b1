import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import { LABEL } from "../../domain/labels.ts";
import { FakeEngine } from "../../engine/fake-engine.ts";
import { packTar, tarDirectory } from "../../engine/tar-files.ts";
import { auditApp, auditStarted, failureSummary } from "./app-audit.ts";

async function engineWithApp(): Promise<{ engine: FakeEngine; id: string }> {
  const engine = new FakeEngine({ instance: "audit", program: () => ({ untilStopped: true }) });
  await engine.importImage(packTar([tarDirectory("app")]), { reference: "app:1", labels: {} });
  await engine.ensureNetwork("sw-audit-shop", {});
  const id = await engine.createContainer({
    name: "sw-audit-shop-web-v1",
    image: "app:1",
    env: {},
    labels: { [LABEL.role]: "app", [LABEL.appId]: "app-1" },
    network: "sw-audit-shop",
    limits: { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 64, tmpBytes: 1024 * 1024 },
  });
  await engine.startContainer(id);
  return { engine, id };
}

describe("auditApp and auditStarted", () => {
  it("audit the app's running containers; the driver's baseline fails nothing", async () => {
    const { engine, id } = await engineWithApp();
    const audits = await auditApp(engine, "app-1");
    assert.equal(audits.length, 1);
    assert.equal(audits[0]?.failed, 0);
    assert.deepEqual(await auditApp(engine, "other-app"), []);
    assert.deepEqual(await auditStarted(engine, id), []);
  });

  it("report an inspect that fails as a failed item, never throw", async () => {
    const { engine, id } = await engineWithApp();
    engine.failNext("rawInspect", new DriverError("engine", "socket gone"));
    const failed = await auditStarted(engine, id);
    assert.equal(failed.length, 1);
    assert.match(failureSummary(failed), /^audit .*socket gone/);
  });
});

import type { Release } from "../../domain/release.ts";
import type { FakeEngine } from "../../engine/fake-engine.ts";
import { packTar, tarFile } from "../../engine/tar-files.ts";
import type { Store } from "../../store/store.ts";

/**
 * Release `version` of an app for controller tests: an image `img-VERSION` in the fake
 * engine and its release row, with one web process.
 */
export async function fakeRelease(
  engine: FakeEngine,
  store: Store,
  appId: string,
  version: number,
): Promise<Release> {
  await engine.importImage(packTar([tarFile("app/server.js", "")]), {
    reference: `img-${String(version)}`,
    labels: {},
  });
  return store.createRelease({
    appId,
    imageDigest: `sha256:${String(version).padStart(64, "0")}`,
    imageRef: `img-${String(version)}`,
    buildId: null,
    processTypes: { web: "node server.js" },
    stack: "slipway-24",
    buildpacks: ["nodejs"],
    description: "test",
  });
}

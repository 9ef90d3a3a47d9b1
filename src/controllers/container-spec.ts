import { randomBytes } from "node:crypto";
import { processCommand } from "../build/app-image.ts";
import type { App } from "../domain/app.ts";
import { LABEL } from "../domain/labels.ts";
import type { Release } from "../domain/release.ts";
import { sizeByName } from "../domain/sizes.ts";
import type { ContainerSpec } from "../engine/engine.ts";

/** The port every app process listens on inside its container (PORT). */
export const APP_PORT = 5000;

/** Names of the per-app engine objects; the instance keeps two installations apart. */
export function appNetworkName(instance: string, app: App): string {
  return `sw-${instance}-${app.name}`;
}

/** The names a process type's containers answer to on the app's network. */
export function networkAliases(processType: string): readonly string[] {
  return [processType];
}

/**
 * The container for one process of a release. The engine driver adds the security
 * baseline; this only says what to run and how big it may get. The release's config vars
 * go into its environment; the platform's own variables (PORT, SLIPWAY_*) always win.
 */
export function appContainerSpec(
  instance: string,
  app: App,
  release: Pick<Release, "id" | "version" | "imageRef">,
  processType: string,
  sizeName: string,
  configVars: Readonly<Record<string, string>> = {},
): ContainerSpec {
  const size = sizeByName(sizeName);
  const suffix = randomBytes(3).toString("hex");
  return {
    name: `sw-${instance}-${app.name}-${processType}-v${release.version}-${suffix}`,
    image: release.imageRef,
    // The launcher sources .profile.d, then execs the release's command for the type.
    cmd: processCommand(processType),
    env: {
      ...configVars,
      PORT: String(APP_PORT),
      SLIPWAY_APP: app.name,
      SLIPWAY_RELEASE: `v${release.version}`,
      SLIPWAY_PROCESS_TYPE: processType,
    },
    labels: {
      [LABEL.role]: "app",
      [LABEL.app]: app.name,
      [LABEL.appId]: app.id,
      [LABEL.release]: String(release.version),
      [LABEL.releaseId]: release.id,
      [LABEL.processType]: processType,
      [LABEL.size]: size.name,
    },
    network: appNetworkName(instance, app),
    networkAliases: networkAliases(processType),
    limits: {
      memoryBytes: size.memoryBytes,
      cpus: size.cpus,
      pids: size.pids,
      tmpBytes: size.tmpBytes,
    },
  };
}

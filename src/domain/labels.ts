/**
 * Label keys Slipway puts on what it creates. Ownership is decided by these labels alone:
 * the engine driver adds `io.slipway.instance`, and controllers only ever act on objects
 * that carry it.
 */
export const LABEL = {
  instance: "io.slipway.instance",
  role: "io.slipway.role",
  app: "io.slipway.app",
  appId: "io.slipway.app-id",
  release: "io.slipway.release",
  releaseId: "io.slipway.release-id",
  processType: "io.slipway.process-type",
  size: "io.slipway.size",
  build: "io.slipway.build",
} as const;

/** What a container is for. */
export type ContainerRole = "app" | "build" | "one-off";

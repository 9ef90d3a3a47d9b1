import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import type { Store } from "../store/store.ts";

/** One running (or stopped) container of an app, as the engine reports it. */
export interface ProcessInfo {
  /** Engine container id. */
  readonly id: string;
  /** Process type from the Procfile: "web", "worker", ... */
  readonly type: string;
  /** Version of the release the container runs. */
  readonly release: number;
  /** Engine state: "running", "exited", "created", ... */
  readonly state: string;
  /** ISO-8601 time the container started, or null if it never did. */
  readonly startedAt: string | null;
  /** host:port the router sends traffic to, or null if it has none (yet). */
  readonly address: string | null;
  /** Passed its readiness check (web: accepts connections on PORT). */
  readonly ready: boolean;
}

/** Where an app's rollout stands: what it should run and what the router serves. */
export interface RolloutStatus {
  /** Version of the current (newest) release, or null before the first one. */
  readonly desired: number | null;
  /** Version the router sends traffic to, or null while none is serving. */
  readonly serving: number | null;
}

/**
 * What the API needs from the rest of Slipway, passed in by the composition root. The API
 * only writes desired state to the store; everything that touches the engine or the builder
 * goes through these functions.
 */
export interface ApiDeps {
  readonly store: Store;
  /** Largest accepted source upload, in bytes. */
  readonly maxUploadBytes: number;
  /**
   * An existing private directory (0700) uploads are streamed to, as temp files removed
   * after submitBuild returns. Put it on the same filesystem as the build's work area.
   */
  readonly uploadDir: string;
  /**
   * Validates a saved source upload (tar.gz file path) and starts a build; throws
   * ValidationError on a bad archive, having created nothing.
   */
  submitBuild(app: App, sourcePath: string): Promise<Build>;
  /** Build log lines (without newlines), following until the build ends when follow is true. */
  buildLog(build: Build, options: { follow: boolean; signal: AbortSignal }): AsyncIterable<string>;
  /** Observed processes of an app (containers). */
  processes(app: App): Promise<ProcessInfo[]>;
  /** Observed rollout state of an app (`slipway deploy` waits on it). */
  rollout(app: App): Promise<RolloutStatus>;
  /** Tears down everything the app owns, then deletes it. */
  destroyApp(app: App): Promise<void>;
  /**
   * Receives errors that became a 500 (their details never reach the client). Defaults to
   * printing them to stderr.
   */
  readonly onInternalError?: (error: unknown, request: Request) => void;
}

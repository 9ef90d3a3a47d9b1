import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import type { GitHost } from "../git/git-server.ts";
import type { Store } from "../store/store.ts";
import type { AuditApp } from "./audit.ts";
import type { ReleaseOps } from "./release-ops.ts";
import type { DomainDeps } from "./domains.ts";
import type { MetricsDeps } from "./metrics.ts";
import type { RouterProbe } from "./router-settings.ts";
import type { RuntimeDeps } from "./runtime-deps.ts";

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
  /** Found running at daemon start but did not answer its check: being replaced. */
  readonly unresponsive?: boolean;
  /** Container size (S, M, ...). */
  readonly size?: string;
  /** Crashed containers of this process type replaced since the daemon started. */
  readonly restarts?: number;
  /** The process type keeps crashing and its replacements are backing off. */
  readonly crashLoop?: boolean;
  /** CPU use in percent of one CPU, when running. */
  readonly cpuPercent?: number | null;
  readonly memoryBytes?: number | null;
  readonly memoryLimitBytes?: number | null;
}

/** Where an app's rollout stands: what it should run and what the router serves. */
export interface RolloutStatus {
  /** Version of the current (newest) release, or null before the first one. */
  readonly desired: number | null;
  /** Version the router sends traffic to, or null while none is serving. */
  readonly serving: number | null;
}

/** Where a build's source came from, recorded on the build. */
export interface SubmitBuildOptions {
  /** The pushed git commit (a git deploy). */
  readonly commit?: string;
  /** Name of the token (or key) that submitted it. */
  readonly createdBy?: string;
}

/**
 * What the API needs from the rest of Slipway, passed in by the composition root. The API
 * only writes desired state to the store; everything that touches the engine or the builder
 * goes through these functions.
 */
export interface ApiDeps extends ReleaseOps {
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
  submitBuild(app: App, sourcePath: string, options?: SubmitBuildOptions): Promise<Build>;
  /** Build log lines (without newlines), following until the build ends when follow is true. */
  buildLog(build: Build, options: { follow: boolean; signal: AbortSignal }): AsyncIterable<string>;
  /** Observed processes of an app (containers). */
  processes(app: App): Promise<ProcessInfo[]>;
  /** Observed rollout state of an app (`slipway deploy` waits on it). */
  rollout(app: App): Promise<RolloutStatus>;
  /** Tears down everything the app owns, then deletes it. */
  destroyApp(app: App): Promise<void>;
  /**
   * Empties the app's build cache (the next build starts cold). Throws ConflictError while
   * a build uses it. Absent: DELETE /apps/NAME/build-cache answers 404.
   */
  clearBuildCache?(app: App): Promise<void>;
  /** The git host behind the smart-HTTP remote at /git/APP.git (absent: no git remote). */
  readonly git?: GitHost;
  /** Custom domains and certificates; without it those endpoints do not exist. */
  readonly domains?: DomainDeps;
  /** Traffic metrics and access logs; without it those endpoints do not exist. */
  readonly metrics?: MetricsDeps;
  /** Fetches an app through the router for `slipway headers:score` (absent: 503). */
  readonly routerProbe?: RouterProbe;
  /** Audits an app's running containers (`slipway doctor`; absent: no audit endpoint). */
  readonly audit?: AuditApp;
  /** Scale, restart, one-off and log endpoints (absent: those routes do not exist). */
  readonly runtime?: RuntimeDeps;
  /**
   * Receives errors that became a 500 (their details never reach the client). Defaults to
   * printing them to stderr.
   */
  readonly onInternalError?: (error: unknown, request: Request) => void;
}

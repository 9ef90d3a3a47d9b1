import type { App } from "../domain/app.ts";
import type { RuntimeDefaults } from "../domain/app-settings.ts";

/** A one-off container started by `slipway run`. */
export interface OneOffInfo {
  readonly id: string;
  readonly name: string;
}

/** What `slipway logs` asks for. */
export interface AppLogOptions {
  /** Lines per container from the end (default 100). */
  readonly tail: number;
  readonly follow: boolean;
  /** Only this process type ("web"); undefined: all, plus platform events. */
  readonly type: string | undefined;
  readonly signal: AbortSignal;
}

/** The last line of a one-off's output stream: this prefix, then the exit code. */
export const EXIT_TRAILER = "\u001eslipway-exit-code: ";

/**
 * What the runtime endpoints (scale, restart, run, logs) need besides the store; the
 * composition root passes them in (src/daemon/runtime-ops.ts).
 */
export interface RuntimeDeps {
  readonly defaults: RuntimeDefaults;
  /** Creates and starts a one-off container of the current release running `command`. */
  runOneOff(app: App, command: string): Promise<OneOffInfo>;
  /**
   * The one-off's output lines as they come, then one EXIT_TRAILER line with its exit
   * code; the container is removed after it exits (or when the client goes away).
   */
  oneOffOutput(app: App, id: string, signal: AbortSignal): AsyncIterable<string>;
  /** Lines "TIME TYPE.CONTAINER: text" of the app's containers, and platform events. */
  appLogs(app: App, options: AppLogOptions): AsyncIterable<string>;
}

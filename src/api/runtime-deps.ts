import type { Duplex } from "node:stream";
import type { App } from "../domain/app.ts";
import type { RuntimeDefaults } from "../domain/app-settings.ts";

/** A one-off container started by `slipway run`. */
export interface OneOffInfo {
  readonly id: string;
  readonly name: string;
  /** Interactive: created with a terminal, started when the client attaches. */
  readonly tty: boolean;
}

/** A terminal's size in character cells. */
export interface TerminalSize {
  readonly rows: number;
  readonly cols: number;
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

/** `slipway logs --type router`: the router's access log rather than a process type. */
export const ROUTER_LOG_TYPE = "router";

/** The last line of a one-off's output stream: this prefix, then the exit code. */
export const EXIT_TRAILER = "\u001eslipway-exit-code: ";

/**
 * What the runtime endpoints (scale, restart, run, logs) need besides the store; the
 * composition root passes them in (src/daemon/runtime-ops.ts).
 */
export interface RuntimeDeps {
  readonly defaults: RuntimeDefaults;
  /**
   * Creates a one-off container of the current release running `command`. Without a
   * terminal it starts at once (read it with oneOffOutput); with one it waits for
   * attachOneOff.
   */
  runOneOff(app: App, command: string, terminal?: TerminalSize): Promise<OneOffInfo>;
  /**
   * Attaches to an interactive one-off and starts it: the stream is its terminal. When
   * the stream ends (the command exited or the client left), the container is stopped
   * and removed and its exit code kept for oneOffExit.
   */
  attachOneOff(app: App, id: string): Promise<Duplex>;
  resizeOneOff(app: App, id: string, size: TerminalSize): Promise<void>;
  /** The exit code of an attached one-off, once its session ended. */
  oneOffExit(app: App, id: string, signal: AbortSignal): Promise<number>;
  /**
   * The one-off's output lines as they come, then one EXIT_TRAILER line with its exit
   * code; the container is removed after it exits (or when the client goes away).
   */
  oneOffOutput(app: App, id: string, signal: AbortSignal): AsyncIterable<string>;
  /** Lines "TIME TYPE.CONTAINER: text" of the app's containers, and platform events. */
  appLogs(app: App, options: AppLogOptions): AsyncIterable<string>;
}

import type { OneOffInfo } from "../../api/runtime-deps.ts";
import type { ApiClient } from "../client.ts";
import type { Terminal } from "../io.ts";
import { appPath } from "./common.ts";

/**
 * `slipway run` from a terminal: the one-off gets a terminal of the window's size, the
 * keystrokes go to it raw (Ctrl-C included: it reaches the command, as over ssh), its
 * output comes back as it is written, window resizes follow, and the exit code of the
 * command is `slipway run`'s own. The terminal is restored however the session ends.
 */
export async function runInteractive(
  client: ApiClient,
  app: string,
  command: string,
  terminal: Terminal,
): Promise<number> {
  const info = await client.post<OneOffInfo>(appPath(app, "/one-offs"), {
    command,
    ...terminal.size(),
  });
  const path = (suffix: string): string => appPath(app, `/one-offs/${info.id}${suffix}`);
  const stream = await client.upgrade(path("/attach"));
  const restore = terminal.raw();
  const stopResizing = terminal.onResize(() => {
    void client.post(path("/resize"), terminal.size()).catch(() => undefined);
  });
  try {
    const closed = new Promise<void>((resolve) => {
      stream.once("close", resolve);
      stream.once("error", () => {
        resolve();
      });
    });
    terminal.input.pipe(stream);
    stream.pipe(terminal.output, { end: false });
    await closed;
  } finally {
    terminal.input.unpipe(stream);
    stopResizing();
    restore();
  }
  const { exitCode } = await client.get<{ exitCode: number }>(path("/exit"));
  return exitCode < 0 ? 1 : Math.min(255, exitCode);
}

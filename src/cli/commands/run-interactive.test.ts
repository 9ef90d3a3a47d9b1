import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex, PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createAdaptorServer } from "@hono/node-server";
import { createApi } from "../../api/api.ts";
import { createTestToken, fakeDeps } from "../../api/fake-deps.ts";
import type { RuntimeDeps, TerminalSize } from "../../api/runtime-deps.ts";
import { serveUpgrades } from "../../api/upgrade.ts";
import { SqliteStore } from "../../store/sqlite/sqlite-store.ts";
import { ApiClient } from "../client.ts";
import { ApiError } from "../errors.ts";
import type { Terminal } from "../io.ts";
import { runInteractive } from "./run-interactive.ts";

/**
 * A one-off "shell" behind the real API server and upgrade path: it echoes each line it
 * reads and ends with exit code 7 on "exit".
 */
function fakeShell(): Duplex {
  const shell: Duplex = new Duplex({
    read() {
      // Pushed as lines come in.
    },
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk
        .toString()
        .split("\n")
        .filter((l) => l !== "")) {
        if (line === "exit") {
          shell.push("bye\r\n");
          shell.push(null);
          setImmediate(() => shell.destroy());
        } else {
          shell.push(`> ${line}\r\n`);
        }
      }
      done();
    },
  });
  return shell;
}

/** A terminal whose keystrokes the test types and whose screen it reads. */
function fakeTerminal(): Terminal & {
  type(text: string): void;
  screen(): string;
  rawCalls: string[];
  resize(): void;
} {
  const input = new PassThrough();
  const output = new PassThrough();
  let screen = "";
  output.on("data", (chunk: Buffer) => (screen += chunk.toString()));
  const rawCalls: string[] = [];
  const listeners = new Set<() => void>();
  let rows = 24;
  return {
    input,
    output,
    size: () => ({ rows, cols: 80 }),
    raw() {
      rawCalls.push("raw");
      return () => rawCalls.push("restored");
    },
    onResize(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    type: (text) => input.write(text),
    screen: () => screen,
    rawCalls,
    resize() {
      rows = 50;
      for (const listener of listeners) listener();
    },
  };
}

describe("slipway run from a terminal (through the real API server)", () => {
  const dir = mkdtempSync(join(tmpdir(), "slipway-tty-"));
  const socket = join(dir, "api.sock");
  const store = new SqliteStore(":memory:");
  const sizes: TerminalSize[] = [];
  const shells: Duplex[] = [];
  let server: Server;
  let token = "";

  before(async () => {
    const runtime: RuntimeDeps = {
      defaults: { bootTimeoutSeconds: 60, stopGraceSeconds: 30, maxQuantity: 20 },
      runOneOff: (_app, command, terminal) => {
        if (terminal !== undefined) sizes.push(terminal);
        return Promise.resolve({ id: "c1", name: `run ${command}`, tty: terminal !== undefined });
      },
      attachOneOff: () => {
        const shell = fakeShell();
        shells.push(shell);
        return Promise.resolve(shell);
      },
      resizeOneOff: (_app, _id, size) => {
        sizes.push(size);
        return Promise.resolve();
      },
      oneOffExit: () => Promise.resolve(7),
      async *oneOffOutput() {},
      async *appLogs() {},
    };
    const api = createApi({ ...fakeDeps(store, { uploadDir: dir }), runtime });
    server = createAdaptorServer({ fetch: api.fetch }) as Server;
    serveUpgrades(server, (request, env) => api.fetch(request, env));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    token = (await createTestToken(store)).secret;
    await store.createApp("shop");
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives the command a terminal of the window's size, keystrokes and the exit code", async () => {
    const client = await ApiClient.connect({ socket, url: null, ca: null, token });
    const terminal = fakeTerminal();
    const session = runInteractive(client, "shop", "bash", terminal);
    terminal.type("echo hi\n");
    await waitUntil(() => terminal.screen().includes("> echo hi"));
    terminal.resize();
    await waitUntil(() => sizes.length === 2);
    terminal.type("exit\n");
    assert.equal(await session, 7);
    assert.match(terminal.screen(), /> echo hi\r\nbye\r\n/);
    assert.deepEqual(sizes, [
      { rows: 24, cols: 80 },
      { rows: 50, cols: 80 },
    ]);
    assert.deepEqual(terminal.rawCalls, ["raw", "restored"]);
  });

  it("ends the session's stream when the client goes away", async () => {
    const client = await ApiClient.connect({ socket, url: null, ca: null, token });
    const connection = await client.upgrade("/v1/apps/shop/one-offs/c1/attach");
    const shell = shells.at(-1);
    assert.ok(shell);
    const closed = new Promise((resolve) => shell.once("close", resolve));
    connection.destroy();
    await closed;
    assert.equal(shell.destroyed, true);
  });

  it("answers an upgrade without a valid token with 401, as plain HTTP", async () => {
    const client = await ApiClient.connect({ socket, url: null, ca: null, token: "swt_bad" });
    await assert.rejects(client.upgrade("/v1/apps/shop/one-offs/c1/attach"), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 401);
      return true;
    });
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), "condition not met in 2 s");
}

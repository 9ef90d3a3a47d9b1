import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAdaptorServer } from "@hono/node-server";
import { createApi } from "../api/api.ts";
import {
  createTestToken,
  fakeDeps,
  type FakeBuilderScript,
  type FakeDeps,
} from "../api/fake-deps.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { memoryIo } from "./io.ts";
import { main } from "./main.ts";

/*
 * Helpers for CLI tests: a scratch directory, a live API server (fake deps, in-memory
 * store) on a unix socket or on https, and an in-process runner of `slipway`.
 */

/** A temp directory that hands out fresh subdirectories. */
export interface Scratch {
  readonly root: string;
  newDir(): string;
  remove(): void;
}

/** Creates a scratch directory under the system temp dir. */
export function scratch(prefix: string): Scratch {
  const root = mkdtempSync(join(tmpdir(), prefix));
  let count = 0;
  return {
    root,
    newDir() {
      const dir = join(root, `d${++count}`);
      mkdirSync(dir);
      return dir;
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A running API with an installation home whose credentials.json points at it. */
export interface Installation {
  readonly home: string;
  /** The unix socket, or null when serving https. */
  readonly socket: string | null;
  /** The https URL, or null when serving on a socket. */
  readonly url: string | null;
  readonly token: string;
  readonly store: SqliteStore;
  readonly deps: FakeDeps;
  close(): Promise<void>;
}

/** How to start an installation. */
export interface InstallOptions {
  readonly maxUploadBytes?: number;
  readonly script?: Partial<FakeBuilderScript>;
  /** Serve https on 127.0.0.1 with this key and certificate instead of a unix socket. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/** Starts an API server in this process. */
export async function install(dirs: Scratch, options: InstallOptions = {}): Promise<Installation> {
  const home = dirs.newDir();
  const store = new SqliteStore(":memory:");
  const deps = fakeDeps(store, { uploadDir: dirs.newDir(), ...options });
  const { secret } = await createTestToken(store);
  const fetch = createApi(deps).fetch;
  let socket: string | null = null;
  let url: string | null = null;
  let server: Server;
  if (options.tls === undefined) {
    socket = join(home, "api.sock");
    server = createAdaptorServer({ fetch }) as Server;
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  } else {
    server = createAdaptorServer({
      fetch,
      createServer: createHttpsServer,
      serverOptions: options.tls,
    }) as Server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  writeFileSync(
    join(home, "credentials.json"),
    JSON.stringify({ token: secret, url, socket, ca: null }),
    {
      mode: 0o600,
    },
  );
  return {
    home,
    socket,
    url,
    token: secret,
    store,
    deps,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      await store.close();
    },
  };
}

/** What one CLI run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `slipway argv` in-process with a minimal environment: HOME points at an empty
 * place so no real login file is ever read; CWD (a pseudo variable) sets the directory.
 */
export async function runCli(
  dirs: Scratch,
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
  stdin = "",
): Promise<CliRun> {
  const io = memoryIo(stdin);
  const cwd = env.CWD ?? dirs.root;
  const code = await main(
    argv,
    { HOME: join(dirs.root, "no-home"), ...env },
    { io, cwd, localHome: join(dirs.root, "no-local-install") },
  );
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** A small Node.js app's source, with a node_modules directory that must not be uploaded. */
export function sourceDir(dirs: Scratch): string {
  const dir = dirs.newDir();
  writeFileSync(join(dir, "package.json"), '{"name":"shop"}\n');
  writeFileSync(join(dir, "server.js"), "console.log('hi')\n");
  mkdirSync(join(dir, "node_modules/x"), { recursive: true });
  writeFileSync(join(dir, "node_modules/x/index.js"), "");
  return dir;
}

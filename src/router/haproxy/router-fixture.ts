import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import type { Logger } from "../../domain/logger.ts";
import { memoryLogger } from "../../testing/memory-logger.ts";
import { ensureServerCertificate } from "../../security/ca.ts";
import type { RouterSettings } from "../render.ts";
import type { Endpoint, RouteTable } from "../router.ts";
import { writeCrtList } from "./crt-list.ts";
import { HaproxyRouter } from "./haproxy-router.ts";
import { MasterCli } from "./master-cli.ts";
import {
  closeServer,
  curl,
  freePort,
  portOf,
  startUpstream,
  type CurlResponse,
} from "./test-helpers.ts";

/**
 * A real HaproxyRouter for the router's integration tests: a CA and a certificate for
 * DOMAIN, two upstream apps (a and b, sending headers the router must strip or keep), the
 * platform API on a socket, free ports, and the router started with hello on app a.
 */
export const DOMAIN = "test.localhost";
export const HELLO = `hello.${DOMAIN}`;
export const EXTRA = `extra.${DOMAIN}`;
export const IDLE = `idle.${DOMAIN}`;
export const API = `slipway.${DOMAIN}`;

export interface RouterFixture {
  readonly dir: string;
  readonly caFile: string;
  readonly settings: RouterSettings;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly appA: Endpoint;
  readonly appB: Endpoint;
  readonly logger: Logger & { readonly lines: string[] };
  /** The router the fixture started (tests may replace it; close() stops this one). */
  router: HaproxyRouter;
  /** hello on these endpoints, and idle on none. */
  table(...endpoints: Endpoint[]): RouteTable;
  newRouter(overrides?: Partial<RouterSettings>, maxRetiredServers?: number): HaproxyRouter;
  https(host: string, path?: string): Promise<CurlResponse>;
  masterReloads(): Promise<number>;
  close(): Promise<void>;
}

export async function startRouterFixture(): Promise<RouterFixture> {
  const dir = await mkdtemp("/tmp/slipway-router-");
  await mkdir(join(dir, "run"), { mode: 0o700 });
  const cert = await ensureServerCertificate({
    caDir: join(dir, "ca"),
    outDir: join(dir, "certs"),
    domain: DOMAIN,
  });
  const caFile = join(dir, "ca", "ca.pem");
  await writeCrtList(join(dir, "crt-list"), [cert.pemPath]);
  const appHeaders = { "x-frame-options": "DENY", server: "node-test", "x-powered-by": "Express" };
  const upstreamA = await startUpstream({ port: 0, host: "127.0.0.1" }, "hello from a", appHeaders);
  const upstreamB = await startUpstream({ port: 0, host: "127.0.0.1" }, "hello from b", appHeaders);
  const apiSocket = join(dir, "run", "api.sock");
  const servers: Server[] = [
    upstreamA,
    upstreamB,
    await startUpstream({ path: apiSocket }, "slipway api"),
  ];
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const settings: RouterSettings = {
    bindAddress: "127.0.0.1",
    httpPort,
    httpsPort,
    domain: DOMAIN,
    platformHost: API,
    apiSocket,
    crtList: join(dir, "crt-list"),
    statsSocket: join(dir, "run", "haproxy.sock"),
    mapDir: join(dir, "state"),
  };
  const logger = memoryLogger();
  const newRouter = (overrides: Partial<RouterSettings> = {}, maxRetiredServers?: number) =>
    new HaproxyRouter({
      stateDir: join(dir, "state"),
      runDir: join(dir, "run"),
      settings: { ...settings, ...overrides },
      logger,
      readyTimeoutMs: 10_000,
      stopGraceMs: 1_000,
      ...(maxRetiredServers === undefined ? {} : { maxRetiredServers }),
    });
  const table = (...endpoints: Endpoint[]): RouteTable => ({
    apps: [
      { app: "hello", hosts: [HELLO], endpoints },
      { app: "idle", hosts: [IDLE], endpoints: [] },
    ],
  });
  const appA = { name: "hello-web-a", address: "127.0.0.1", port: portOf(upstreamA) };
  const appB = { name: "hello-web-b", address: "127.0.0.1", port: portOf(upstreamB) };
  const fixture: RouterFixture = {
    dir,
    caFile,
    settings,
    httpsPort,
    httpPort,
    appA,
    appB,
    logger,
    router: newRouter(),
    table,
    newRouter,
    https: (host, path = "/") =>
      curl(`https://${host}:${String(httpsPort)}${path}`, { caFile, http2: true }),
    masterReloads: async () =>
      (await new MasterCli(join(dir, "run", "haproxy-master.sock")).showProc()).master.reloads,
    close: async () => {
      await fixture.router.stop();
      for (const server of servers) await closeServer(server);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await fixture.router.start();
  await fixture.router.apply(table(appA));
  return fixture;
}

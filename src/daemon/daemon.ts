import { createAdaptorServer } from "@hono/node-server";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { createApi } from "../api/api.ts";
import type { Config } from "../config/config.ts";
import { AppController } from "../controllers/app-controller.ts";
import { BuildController } from "../controllers/build-controller.ts";
import { ControllerManager } from "../controllers/manager.ts";
import { waitForTcp } from "../controllers/readiness.ts";
import { RouteSync } from "../controllers/route-sync.ts";
import { RuntimeState } from "../controllers/runtime-state.ts";
import type { Logger } from "../domain/logger.ts";
import { DockerEngine } from "../engine/docker/docker-engine.ts";
import type { Engine } from "../engine/engine.ts";
import { startPodmanService } from "../engine/podman-service.ts";
import { writeCrtList } from "../router/haproxy/crt-list.ts";
import { HaproxyRouter } from "../router/haproxy/haproxy-router.ts";
import { ensureCa, ensureServerCertificate } from "../security/ca.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { ensureAdminToken } from "../security/tokens.ts";
import { buildFiles } from "./build-files.ts";
import { buildpackBuilder } from "./builder.ts";
import { pathsOf, routerSettingsOf, type Paths } from "./paths.ts";
import { platformApiDeps } from "./platform.ts";

/** A running control plane. */
export interface Daemon {
  readonly paths: Paths;
  /** Stops the controllers and the API. The router and the engine keep serving apps. */
  stop(): Promise<void>;
}

/**
 * The composition root: the only place that knows which driver implements which port.
 * Configuration was read once by the caller; everything below receives what it needs.
 */
export async function startDaemon(config: Config, logger: Logger): Promise<Daemon> {
  const paths = pathsOf(config);
  for (const dir of [
    config.home,
    config.runDir,
    paths.logsDir,
    paths.uploadsDir,
    paths.sourcesDir,
  ]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }

  const engine = await connectEngine(config, paths, logger);
  const store = new SqliteStore(paths.database, {
    onListenerError: (error, change) => {
      logger.error("store listener failed", { error, change });
    },
  });

  const router = await startRouter(config, paths, logger);
  const state = new RuntimeState();
  const routes = new RouteSync({
    store,
    engine,
    router,
    state,
    instance: config.instance,
    domain: config.domain,
  });
  const apps = new AppController({
    store,
    engine,
    routes,
    state,
    instance: config.instance,
    logger,
    bootTimeoutMs: 60_000,
    stopGraceSeconds: 30,
    drainMs: 1000,
    probe: waitForTcp,
  });
  const builds = new BuildController({
    store,
    builder: buildpackBuilder(config, engine),
    files: buildFiles(paths.sourcesDir, paths.buildLogsDir),
    logger,
  });
  const controllers = new ControllerManager({
    store,
    engine,
    apps,
    builds,
    logger,
    buildConcurrency: Math.max(1, config.build.concurrency),
    resyncMs: 30_000,
  });

  const api = createApi({
    ...platformApiDeps({
      store,
      engine,
      controllers,
      state,
      instance: config.instance,
      maxUploadBytes: config.api.maxUploadBytes,
      uploadsDir: paths.uploadsDir,
      sourcesDir: paths.sourcesDir,
      buildLogsDir: paths.buildLogsDir,
    }),
    onInternalError: (error, request) => {
      logger.error("internal error", { error, method: request.method, url: request.url });
    },
  });
  const server = await listen(createAdaptorServer({ fetch: api.fetch }) as Server, paths.apiSocket);

  const token = await ensureAdminToken(store, paths.credentials, {
    url: `https://slipway.${config.domain}${config.httpsPort === 443 ? "" : `:${String(config.httpsPort)}`}`,
    socket: paths.apiSocket,
    ca: paths.caCert,
  });
  if (token.created) logger.info("admin credentials written", { file: paths.credentials });

  await controllers.start();
  await writeFile(paths.daemonPid, `${String(process.pid)}\n`, { mode: 0o600 });
  logger.info("slipway is ready", {
    api: paths.apiSocket,
    https: config.httpsPort,
    domain: config.domain,
  });

  return {
    paths,
    async stop() {
      logger.info("stopping the control plane");
      await controllers.stop();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      server.closeAllConnections();
      await store.close();
      await rm(paths.daemonPid, { force: true });
      await rm(paths.apiSocket, { force: true });
    },
  };
}

async function connectEngine(config: Config, paths: Paths, logger: Logger): Promise<Engine> {
  let socketPath = paths.engineSocket;
  if (config.engine.socket === null) {
    const service = await startPodmanService({
      stateDir: paths.engineDir,
      runDir: config.runDir,
      runtime: config.engine.runtime,
      log: logger,
    });
    socketPath = service.socketPath;
  }
  const engine = new DockerEngine({
    socketPath,
    instance: config.instance,
    networkPool: config.engine.networkPool,
  });
  await engine.ping();
  return engine;
}

async function startRouter(config: Config, paths: Paths, logger: Logger): Promise<HaproxyRouter> {
  await ensureCa(paths.caDir);
  const certificate = await ensureServerCertificate({
    caDir: paths.caDir,
    outDir: paths.certsDir,
    domain: config.domain,
  });
  await mkdir(paths.routerDir, { recursive: true, mode: 0o700 });
  await writeCrtList(paths.crtList, [certificate.pemPath]);
  const settings = routerSettingsOf(config);
  const router = new HaproxyRouter({
    stateDir: paths.routerDir,
    runDir: config.runDir,
    settings,
    logger,
  });
  await router.start();
  return router;
}

/** Listens on a unix socket only this user can use (a stale socket file is replaced). */
async function listen(server: Server, socketPath: string): Promise<Server> {
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
  return server;
}

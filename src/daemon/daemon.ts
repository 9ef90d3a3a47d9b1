import { createAdaptorServer } from "@hono/node-server";
import { serveUpgrades } from "../api/upgrade.ts";
import { rotateEvery } from "./log-rotation.ts";
import { watchRouter } from "./router-watch.ts";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import { createApi } from "../api/api.ts";
import { releaseOps } from "../api/release-ops.ts";
import { loadSecretKey } from "../security/secrets.ts";
import { latestConfigVars, readConfigVars } from "../store/config-vars.ts";
import { ReleaseHooks } from "../controllers/release-hooks.ts";
import type { Config } from "../config/config.ts";
import { AppController } from "../controllers/app-controller.ts";
import { BuildController } from "../controllers/build-controller.ts";
import { ControllerManager } from "../controllers/manager.ts";
import { PreparedContainers } from "../controllers/prepared-containers.ts";
import { waitForHealthy } from "../controllers/readiness.ts";
import { runtimeOps } from "./runtime-ops.ts";
import { RouteSync } from "../controllers/route-sync.ts";
import { RuntimeState } from "../controllers/runtime-state.ts";
import type { Logger } from "../domain/logger.ts";
import type { Release } from "../domain/release.ts";
import { DockerEngine } from "../engine/docker/docker-engine.ts";
import { Launcher, type ProcessLauncher } from "../process/launcher.ts";
import { auditApp } from "../security/audit/app-audit.ts";
import type { Engine } from "../engine/engine.ts";
import { startPodmanService } from "../engine/podman-service.ts";
import { writeCrtList } from "../router/haproxy/crt-list.ts";
import { HaproxyRouter } from "../router/haproxy/haproxy-router.ts";
import { ensureCa, ensureServerCertificate } from "../security/ca.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { ensureAdminToken } from "../security/tokens.ts";
import { GitServer } from "../git/git-server.ts";
import { startSshd } from "../git/sshd.ts";
import { buildFiles } from "./build-files.ts";
import { buildpackBuilder } from "./builder.ts";
import { ValidatedSources } from "./validated-sources.ts";
import { pathsOf, routerSettingsOf, type Paths } from "./paths.ts";
import { certificateServices, metricsDeps, startAccessLog } from "./traffic.ts";
import { platformApiDeps } from "./platform.ts";
import { probeSite } from "../router/probe.ts";

/** Size at which daemon.log and haproxy.log are rotated to FILE.1. */
const LOG_MAX_BYTES = 32 * 1024 * 1024;
/** How often the daemon checks that the router's processes still run. */
const ROUTER_CHECK_MS = 2_000;

/** A running control plane. */

/** Shells kept started for git and iptables: a push starts seven programs. */
const LAUNCHER_SHELLS = 8;
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

  // git and iptables start several times in every push: shells started ahead save the
  // daemon's fork (4-5 ms each, on the event loop; src/process/launcher.ts).
  const launcher = new Launcher({ size: LAUNCHER_SHELLS });
  const engine = await connectEngine(config, paths, logger, launcher);
  const secrets = await loadSecretKey(paths.secretKey);
  const store = new SqliteStore(paths.database, {
    onListenerError: (error, change) => {
      logger.error("store listener failed", { error, change });
    },
  });

  const accessLog = await startAccessLog(paths);
  const router = await startRouter(config, paths, logger, accessLog.port);
  const state = new RuntimeState();
  // A crash-looping app keeps its back-off (and `ps` its restart counts) across restarts.
  for (const record of await store.listCrashRecords()) state.restoreCrash(record);
  // RouteSync and the certificate services need each other: sync is bound late.
  let syncRoutes: () => Promise<void> = () => Promise.resolve();
  const certificates = await certificateServices({
    config,
    paths,
    store,
    syncRoutes: () => syncRoutes(),
    logger,
  });
  const routes = new RouteSync({
    store,
    engine,
    router,
    state,
    instance: config.instance,
    domain: config.domain,
    certificatePath: (hostname) => certificates.files.path(hostname),
    logger,
  });
  syncRoutes = () => routes.sync();
  // Config vars (sealed at rest) go into the containers' environment.
  const releaseEnv = (release: Pick<Release, "appId" | "configVersion">) =>
    readConfigVars(store, secrets, release.appId, release.configVersion);
  // The next release's web container, made while its build runs.
  const prepared = new PreparedContainers({
    engine,
    store,
    instance: config.instance,
    logger,
    releaseEnv,
  });
  const apps = new AppController({
    store,
    engine,
    routes,
    state,
    instance: config.instance,
    logger,
    bootTimeoutMs: config.runtime.bootTimeoutSeconds * 1000,
    stopGraceSeconds: config.runtime.stopGraceSeconds,
    maxQuantity: config.runtime.maxQuantity,
    drainMs: 1000,
    probe: waitForHealthy,
    releaseEnv,
    prepared,
    startupCpus: config.runtime.startupCpus,
    releaseHooks: new ReleaseHooks({
      store,
      engine,
      instance: config.instance,
      logger,
      configVars: (appId, version) => readConfigVars(store, secrets, appId, version),
      keepReleases: Math.max(1, config.releases.keep),
      timeoutMs: config.releases.phaseTimeoutSeconds * 1000,
      servingVersion: (appId) => state.routedRelease(appId),
    }),
  });
  // What submitBuild checked, handed to the build (validated-sources.ts).
  const validatedSources = new ValidatedSources();
  const builder = buildpackBuilder(config, engine, logger, validatedSources);
  const builds = new BuildController({
    store,
    builder,
    files: buildFiles(paths.sourcesDir, paths.buildLogsDir),
    logger,
    configVars: (appId) => latestConfigVars(store, secrets, appId),
    // A build container goes once its release serves: its removal (the engine tears down
    // its network) would otherwise hold up the network setup of the release's containers.
    rolledOut: (appId, version, signal) => state.whenRouted(appId, version, signal),
    prepared,
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

  const git = new GitServer({
    reposDir: paths.gitDir,
    hooksDir: paths.gitHooksDir,
    socketPath: paths.gitHookSocket,
    uploadsDir: paths.uploadsDir,
    maxUploadBytes: config.api.maxUploadBytes,
    // The pack carries history as well as the tree: allow more than the archive limit.
    maxPackBytes: config.api.maxUploadBytes * 4,
    launcher,
    deploy: {
      submitBuild: (app, path, options) => platform.submitBuild(app, path, options),
      buildLog: (build, options) => platform.buildLog(build, options),
      getBuild: (id) => store.getBuild(id),
      getRelease: (id) => store.getRelease(id),
      rollout: (app) => platform.rollout(app),
      whenServing: (app, version, signal) => state.whenRouted(app.id, version, signal),
      addEvent: (appId, type, message) => store.addEvent(appId, type, message),
      pushStarting: (app) => builder.expect?.(app),
    },
    store,
    logger,
    compileCacheDir: paths.nodeCompileCache,
  });
  await git.start();
  if (config.sshPort !== null) {
    try {
      await startSshd({
        stateDir: paths.sshDir,
        runDir: config.runDir,
        port: config.sshPort,
        bindAddress: config.bindAddress,
        authorizedKeysCommand: git.authorizedKeysCommand(),
        logger,
      });
    } catch (error) {
      // Git over SSH is optional: the platform serves without it (push over HTTPS works).
      logger.error("sshd did not start: git over SSH is unavailable", { error });
    }
  }

  const platform = platformApiDeps({
    store,
    engine,
    controllers,
    state,
    instance: config.instance,
    maxUploadBytes: config.api.maxUploadBytes,
    uploadsDir: paths.uploadsDir,
    sourcesDir: paths.sourcesDir,
    validatedSources,
    buildLogsDir: paths.buildLogsDir,
    git,
    builder,
    prepared,
  });
  const api = createApi({
    ...platform,
    ...releaseOps({
      store,
      box: secrets,
      imageExists: async (ref) => (await engine.inspectImage(ref)) !== undefined,
    }),
    domains: certificates.domains,
    runtime: runtimeOps({
      store,
      engine,
      instance: config.instance,
      logger,
      defaults: config.runtime,
      accessLog: accessLog.log,
      releaseEnv,
    }),
    // `slipway doctor --app NAME`: CIS Docker 5.x, PSS restricted and Slipway's baseline.
    audit: (app) => auditApp(engine, app.id),
    metrics: metricsDeps(paths.routerStatsSocket, accessLog.log),
    // `slipway headers:score`: the app as a browser on this machine sees it.
    routerProbe: (app) =>
      probeSite({
        host: `${app.name}.${config.domain}`,
        address: config.bindAddress,
        httpPort: config.httpPort,
        httpsPort: config.httpsPort,
        caFile: paths.caCert,
      }),
    onInternalError: (error, request) => {
      logger.error("internal error", { error, method: request.method, url: request.url });
    },
  });
  const adaptor = createAdaptorServer({ fetch: api.fetch }) as Server;
  // Interactive one-offs switch their connection to a raw stream through the same API.
  serveUpgrades(adaptor, (request, env) => api.fetch(request, env));
  const server = await listen(adaptor, paths.apiSocket);

  const token = await ensureAdminToken(store, paths.credentials, {
    url: `https://slipway.${config.domain}${config.httpsPort === 443 ? "" : `:${String(config.httpsPort)}`}`,
    socket: paths.apiSocket,
    ca: paths.caCert,
  });
  if (token.created) logger.info("admin credentials written", { file: paths.credentials });

  await controllers.start();
  certificates.controller?.start();
  const stopRotating = rotateEvery(
    [paths.daemonLog, join(paths.routerDir, "haproxy.log")],
    LOG_MAX_BYTES,
    60_000,
    (file, error) => {
      logger.warn("rotating a log failed", { file, error });
    },
  );
  const stopWatchingRouter = watchRouter(
    { router, resync: () => routes.sync(), logger },
    ROUTER_CHECK_MS,
  );
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
      stopRotating();
      stopWatchingRouter();
      await controllers.stop();
      // Made ahead for builds that are over now: an earlier daemon's would be removed anyway.
      await prepared.stop();
      await certificates.controller?.stop();
      await accessLog.log.close();
      await git.stop();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      server.closeAllConnections();
      await store.close();
      launcher.close();
      await rm(paths.daemonPid, { force: true });
      await rm(paths.apiSocket, { force: true });
    },
  };
}

async function connectEngine(
  config: Config,
  paths: Paths,
  logger: Logger,
  launcher: ProcessLauncher,
): Promise<Engine> {
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
    // The only host ports app containers may reach (host-guard.ts drops the rest).
    routerPorts: [config.httpPort, config.httpsPort],
    launcher,
    // Off unless asked for: docs/ARCHITECTURE.md "network sandboxes".
    ...(config.engine.networkSandboxes ? {} : { pauseBinary: null }),
  });
  await engine.ping();
  return engine;
}

async function startRouter(
  config: Config,
  paths: Paths,
  logger: Logger,
  accessLogPort: number,
): Promise<HaproxyRouter> {
  await ensureCa(paths.caDir);
  const certificate = await ensureServerCertificate({
    caDir: paths.caDir,
    outDir: paths.certsDir,
    domain: config.domain,
  });
  await mkdir(paths.routerDir, { recursive: true, mode: 0o700 });
  await writeCrtList(paths.crtList, [certificate.pemPath]);
  const settings = {
    ...routerSettingsOf(config),
    // Plain-HTTP ACME challenges go to the API, which answers them (src/daemon/traffic.ts).
    acmeHttp01ToApi: config.acme.enabled,
    accessLogPort,
  };
  const router = new HaproxyRouter({
    stateDir: paths.routerDir,
    runDir: config.runDir,
    settings,
    logger,
    // The router owns the crt-list from here on: default first, then custom domains.
    defaultCertificate: certificate.pemPath,
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

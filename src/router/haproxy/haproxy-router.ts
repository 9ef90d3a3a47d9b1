import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DriverError } from "../../domain/errors.ts";
import type { Logger } from "../../domain/logger.ts";
import { hostMapPath, renderRouterFiles, type HostMap, type RouterSettings } from "../render.ts";
import type { RouteTable, Router } from "../router.ts";
import {
  checkConfig,
  logOffset,
  readIfExists,
  temporaryPath,
  writeFileAtomic,
} from "./haproxy-config.ts";
import {
  isAlive,
  isOurMaster,
  readPidFile,
  spawnMaster,
  stopMaster,
  type MasterFiles,
} from "./haproxy-process.ts";
import { crtListLines } from "../tls-profile.ts";
import { applyCrtListChange, crtListChange, isEmptyChange } from "./runtime-certs.ts";
import { LatestWins } from "./latest-wins.ts";
import { endpointOnlyChange } from "./runtime-diff.ts";
import { applyEndpointChange } from "./runtime-endpoints.ts";
import { MasterCli } from "./master-cli.ts";
import { MasterControl } from "./master-control.ts";
import { changedDigests, digestFiles, readDigests } from "./crt-digests.ts";
import { removeLegacyHostMaps, writeHostMap } from "./host-map-files.ts";
import { applyMapChange, isEmptyMapChange, mapChange } from "./runtime-map.ts";

/** Construction options of {@link HaproxyRouter}. */
export interface HaproxyRouterOptions {
  /** Holds haproxy.cfg and haproxy.log (under SLIPWAY_HOME). */
  readonly stateDir: string;
  /** Holds the master socket and the pid file (under SLIPWAY_RUN). */
  readonly runDir: string;
  readonly settings: RouterSettings;
  readonly logger: Logger;
  /** The haproxy executable; a bare name is looked up on a standard PATH. */
  readonly haproxyBin?: string;
  /** How long start() and each reload may take before failing (default 15 s). */
  readonly readyTimeoutMs?: number;
  /** How long stop() lets workers finish their requests before forcing them (default 5 s). */
  readonly stopGraceMs?: number;
  /**
   * The platform's default certificate (combined PEM). When set, the router owns the
   * crt-list: it writes this first, then the table's certificates (tls-profile.ts), and
   * applies changes of the list or of a listed file through the runtime API, falling back
   * to a reload (HAProxy reads the crt-list on start and reload).
   */
  readonly defaultCertificate?: string;
  /**
   * How many servers endpoint changes may leave in maintenance (runtime-endpoints.ts never
   * deletes them) before the next one reloads instead, which drops them (default 32).
   */
  readonly maxRetiredServers?: number;
}

/** What one convergence step installs: the configuration and, if owned, the crt-list. */
interface Desired {
  readonly config: string;
  /** The host map the configuration names (written before the configuration is checked). */
  readonly hostMap: HostMap;
  /** The crt-list text, or null to leave the file alone. */
  readonly crtList: string | null;
  /** Digest per listed PEM file: a renewed certificate keeps its path. */
  readonly crtDigests: ReadonlyMap<string, string> | null;
}

const EMPTY_TABLE: RouteTable = { apps: [] };

/**
 * The Router port on HAProxy 2.6+ in master-worker mode. The configuration is rendered
 * whole from the route table, skipped when unchanged, checked with `haproxy -c`, swapped
 * atomically and reloaded through the master CLI: the master hands the listening sockets
 * to a new worker while old workers finish their connections, so no request is lost.
 *
 * HAProxy runs detached: it keeps serving while the daemon restarts, and the next start()
 * adopts it instead of starting a second one.
 */
export class HaproxyRouter implements Router {
  readonly #files: MasterFiles;
  /** The digests of the certificate files the workers loaded (see #loadedCertificates). */
  readonly #crtDigestsFile: string;
  readonly #settings: RouterSettings;
  readonly #logger: Logger;
  readonly #master: MasterControl;
  readonly #stopGraceMs: number;
  readonly #defaultCertificate: string | undefined;
  readonly #queue = new LatestWins<Desired>((desired) => this.#converge(desired));
  /** The crt-list the running workers loaded, when the router owns it. */
  #appliedCrtList: string | null = null;
  #appliedCrtDigests: ReadonlyMap<string, string> | null = null;
  /** The configuration the running master has loaded; null before start(). */
  #applied: string | null = null;
  /** The host map text the running workers have; null when unknown (the next change reloads). */
  #appliedHostMap: string | null = null;
  /** Servers endpoint changes put in maintenance since the workers loaded their configuration. */
  #retired: ReadonlySet<string> = new Set();
  readonly #maxRetired: number;

  constructor(options: HaproxyRouterOptions) {
    this.#files = {
      bin: options.haproxyBin ?? "haproxy",
      config: join(options.stateDir, "haproxy.cfg"),
      logFile: join(options.stateDir, "haproxy.log"),
      masterSocket: join(options.runDir, "haproxy-master.sock"),
      pidFile: join(options.runDir, "haproxy.pid"),
    };
    this.#crtDigestsFile = join(options.stateDir, "crt-digests.json");
    this.#settings = options.settings;
    this.#logger = options.logger;
    this.#master = new MasterControl(
      new MasterCli(this.#files.masterSocket),
      this.#files.logFile,
      options.readyTimeoutMs ?? 15_000,
    );
    this.#stopGraceMs = options.stopGraceMs ?? 5_000;
    this.#defaultCertificate = options.defaultCertificate;
    this.#maxRetired = options.maxRetiredServers ?? 32;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.#files.config), { recursive: true, mode: 0o700 });
    await mkdir(dirname(this.#files.pidFile), { recursive: true, mode: 0o700 });
    if (await this.#adopt()) return;
    await rm(this.#files.pidFile, { force: true });
    await rm(this.#files.masterSocket, { force: true });
    const config = await this.#startupConfig();
    const offset = await logOffset(this.#files.logFile);
    const master = await spawnMaster(this.#files);
    try {
      await this.#master.waitUntilServing({ master, offset });
    } catch (error) {
      await stopMaster(master.pid, 0);
      throw error;
    }
    this.#applied = config;
    this.#appliedHostMap = await readIfExists(hostMapPath(this.#settings));
    // The new workers loaded the certificates the crt-list on disk names, as they are now.
    const onDisk = await readIfExists(this.#settings.crtList);
    if (onDisk !== null) await this.#loadedCertificates(onDisk, await digestFiles(onDisk));
    this.#logger.info("router started", { pid: master.pid });
  }

  async apply(table: RouteTable): Promise<void> {
    // Rendering validates: a bad table fails here, for this caller only.
    const { config, hostMap } = renderRouterFiles(table, this.#settings);
    const defaultPem = this.#defaultCertificate;
    // Custom domains' certificates, and the "modern" TLS profile as per-line options.
    const lines =
      defaultPem === undefined ? [] : crtListLines(table, defaultPem, this.#settings.domain);
    const crtList =
      defaultPem === undefined || (table.certificates === undefined && lines.length < 2)
        ? null
        : lines.join("");
    const crtDigests = crtList === null ? null : await digestFiles(crtList);
    await this.#queue.submit({ config, hostMap, crtList, crtDigests });
  }

  async stop(): Promise<void> {
    const pid = await this.#runningMaster();
    if (pid !== null) await stopMaster(pid, this.#stopGraceMs);
    for (const file of [
      this.#files.pidFile,
      this.#files.masterSocket,
      this.#settings.statsSocket,
    ]) {
      await rm(file, { force: true });
    }
    this.#applied = null;
    this.#retired = new Set();
    if (pid !== null) this.#logger.info("router stopped", { pid });
  }

  async running(): Promise<boolean> {
    return (await this.#runningMaster()) !== null;
  }

  /** Takes over a master left running by an earlier daemon; false when there is none. */
  async #adopt(): Promise<boolean> {
    const pid = await this.#runningMaster();
    if (pid === null) return false;
    try {
      await this.#master.waitUntilServing(null);
    } catch (error) {
      if (!(error instanceof DriverError)) throw error;
      this.#logger.warn("running haproxy does not answer; replacing it", {
        pid,
        error: error.message,
      });
      await stopMaster(pid, 0);
      return false;
    }
    // Without its file the running configuration is unknown: the first apply() reloads.
    this.#applied = (await readIfExists(this.#files.config)) ?? "";
    // What the workers loaded, as the daemon before us recorded it: a certificate change
    // can then still go through the runtime API. Unknown (no record): the first reloads.
    this.#appliedCrtDigests = await readDigests(this.#crtDigestsFile);
    // The host map file is written once the workers have its text (runtime or reload).
    this.#appliedHostMap = await readIfExists(hostMapPath(this.#settings));
    this.#logger.info("router adopted", { pid });
    return true;
  }

  /** The pid of our master if it runs; a pid file may name a dead or unrelated process. */
  async #runningMaster(): Promise<number | null> {
    const pid = await readPidFile(this.#files.pidFile);
    if (pid === null || !(await isAlive(pid))) return null;
    return (await isOurMaster(pid, this.#files.masterSocket)) ? pid : null;
  }

  /**
   * The configuration to start with: the stored one if it is still valid (the data plane
   * comes back as it was), else the empty table until the first apply().
   */
  async #startupConfig(): Promise<string> {
    const stored = await readIfExists(this.#files.config);
    if (stored !== null) {
      try {
        await checkConfig(this.#files.bin, this.#files.config);
        return stored;
      } catch (error) {
        if (!(error instanceof DriverError)) throw error;
        this.#logger.warn("stored router configuration is invalid; starting without routes", {
          error: error.message,
        });
      }
    }
    const { config: empty, hostMap } = renderRouterFiles(EMPTY_TABLE, this.#settings);
    await writeHostMap(hostMap);
    await this.#install(empty);
    return empty;
  }

  /**
   * One serialized convergence step (see LatestWins): skip; else certificates, hosts and
   * endpoints through the runtime API when that can express the change; else check, swap
   * and reload.
   */
  async #converge({ config, hostMap, crtList, crtDigests }: Desired): Promise<void> {
    const previous = this.#applied;
    if (previous === null) throw new DriverError("haproxy", "apply() before start()");
    // The crt-list is not part of the configuration text: a new certificate alone must
    // also reach HAProxy (else it would only be served after the next config change).
    const previousCrtList = this.#appliedCrtList ?? (await readIfExists(this.#settings.crtList));
    const changedFiles = changedDigests(this.#appliedCrtDigests, crtDigests);
    const crtListChanged =
      crtList !== null && (crtList !== previousCrtList || changedFiles.size > 0);
    // Nor is the host map (a fixed file the configuration names): a domain added to an app
    // changes only the map.
    const previousHostMap = this.#appliedHostMap;
    const hostsChanged = hostMap.text !== previousHostMap;
    if (config === previous && !crtListChanged && !hostsChanged) return;
    const runtimeConfig = config === previous || endpointOnlyChange(previous, config) !== null;
    if (
      runtimeConfig &&
      (!crtListChanged ||
        (await this.#applyCertificatesAtRuntime(previousCrtList, crtList, changedFiles))) &&
      (!hostsChanged || (await this.#applyHostsAtRuntime(previousHostMap, hostMap))) &&
      (config === previous || (await this.#applyAtRuntime(previous, config)))
    ) {
      if (crtList !== null) await this.#loadedCertificates(crtList, crtDigests);
      return;
    }
    if (crtListChanged) await writeFileAtomic(this.#settings.crtList, crtList);
    try {
      await writeHostMap(hostMap);
      await this.#install(config);
      await this.#master.reload();
    } catch (error) {
      // The master kept the old workers; the files on disk must say what runs.
      await writeFileAtomic(this.#files.config, previous);
      if (crtListChanged && previousCrtList !== null) {
        await writeFileAtomic(this.#settings.crtList, previousCrtList);
      }
      // The map the workers have: the previous one, or the new one if the runtime step
      // already applied it before another step sent us here.
      const running = this.#appliedHostMap;
      if (running !== null) await writeHostMap({ ...hostMap, text: running });
      throw error;
    }
    this.#applied = config;
    this.#appliedHostMap = hostMap.text;
    // The new workers have only the servers of the configuration.
    this.#retired = new Set();
    if (crtList !== null) await this.#loadedCertificates(crtList, crtDigests);
    await removeLegacyHostMaps(this.#settings.mapDir);
    this.#logger.info("router configuration applied", { bytes: config.length });
  }

  /**
   * Applies a change of the host map (hosts added to, moved between or removed from apps)
   * through the runtime API, then writes the file so a reload or restart loads the same
   * map. False when the running map is unknown or HAProxy refused a step (the caller then
   * reloads, which reads the whole file again).
   */
  async #applyHostsAtRuntime(previous: string | null, next: HostMap): Promise<boolean> {
    if (previous === null) return false;
    const change = mapChange(previous, next.text);
    const applied = await this.#atRuntime("hosts", async () => {
      if (!isEmptyMapChange(change)) {
        await applyMapChange(this.#settings.statsSocket, next.path, change);
      }
      await writeHostMap(next);
      return {
        added: change.add.length,
        changed: change.set.length,
        removed: change.remove.length,
      };
    });
    if (applied) this.#appliedHostMap = next.text;
    return applied;
  }

  /**
   * Records what the workers now serve: the crt-list, and the digests of its files, also on
   * disk for a daemon that adopts this router after a restart. Written after the workers
   * have it, so the record never claims more than they loaded (a stale one only makes the
   * next change upload a certificate again).
   */
  async #loadedCertificates(
    crtList: string,
    digests: ReadonlyMap<string, string> | null,
  ): Promise<void> {
    this.#appliedCrtList = crtList;
    this.#appliedCrtDigests = digests;
    const record = digests === null ? "{}" : JSON.stringify(Object.fromEntries(digests));
    await writeFileAtomic(this.#crtDigestsFile, record).catch((error: unknown) => {
      this.#logger.warn("could not record the loaded certificates", {
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  /**
   * Applies a crt-list change (new, renewed or removed certificates; TLS profile options)
   * through the runtime API, then writes the crt-list so a reload or restart loads the same
   * state. False when the change needs a reload, or the runtime API refused a step (the
   * caller then reloads, which reads every file again).
   */
  async #applyCertificatesAtRuntime(
    previous: string | null,
    next: string,
    changedFiles: ReadonlySet<string>,
  ): Promise<boolean> {
    // Without the digests of what the workers loaded, a changed file cannot be told apart.
    if (previous === null || this.#appliedCrtDigests === null) return false;
    const change = crtListChange(previous, next, changedFiles);
    if (change === null) return false;
    return this.#atRuntime("certificates", async () => {
      if (!isEmptyChange(change)) {
        await applyCrtListChange(this.#settings.statsSocket, this.#settings.crtList, change, (p) =>
          readFile(p, "utf8"),
        );
      }
      await writeFileAtomic(this.#settings.crtList, next);
      return {
        uploaded: change.upload.length,
        added: change.add.length,
        removed: change.remove.length,
      };
    });
  }

  /**
   * Applies a change of app endpoints only through the runtime API (no reload), then
   * stores the new file so a later reload or restart loads the same state. False when the
   * change needs a reload, or the runtime path failed (the caller then reloads, which
   * makes whatever the runtime API did irrelevant).
   */
  async #applyAtRuntime(previous: string, config: string): Promise<boolean> {
    const change = endpointOnlyChange(previous, config);
    if (change === null) return false;
    const retired = new Set(this.#retired);
    for (const server of change.add) retired.delete(`${server.backend}/${server.name}`);
    for (const server of change.remove) retired.add(`${server.backend}/${server.name}`);
    if (retired.size > this.#maxRetired) {
      this.#logger.info("router reloads to drop the servers it retired", {
        retired: this.#retired.size,
      });
      return false;
    }
    const applied = await this.#atRuntime("endpoints", async () => {
      await applyEndpointChange(this.#settings.statsSocket, config, change, { upMs: 10_000 });
      this.#retired = retired;
      // No `haproxy -c` here (it takes ~0.5 s with 1,000 apps): the file differs from the
      // checked one only in server lines HAProxy has just accepted at runtime.
      await writeFileAtomic(this.#files.config, config);
      return { added: change.add.length, removed: change.remove.length };
    });
    if (applied) this.#applied = config;
    return applied;
  }

  /**
   * Runs one runtime-API step and logs what it did; false (with a warning) when it failed,
   * so that the caller reloads, which reads every file again and makes the partial step
   * irrelevant.
   */
  async #atRuntime(
    what: string,
    step: () => Promise<Readonly<Record<string, number>>>,
  ): Promise<boolean> {
    const started = Date.now();
    try {
      const counts = await step();
      this.#logger.info(`router ${what} updated at runtime`, {
        ...counts,
        ms: Date.now() - started,
      });
      return true;
    } catch (error) {
      this.#logger.warn(`runtime update of ${what} failed; reloading instead`, {
        error: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
  }

  /** Checks `config` with `haproxy -c` as a separate file, then renames it over the live one. */
  async #install(config: string): Promise<void> {
    const candidate = temporaryPath(this.#files.config);
    try {
      await writeFileAtomic(candidate, config);
      await checkConfig(this.#files.bin, candidate);
      await rename(candidate, this.#files.config);
    } finally {
      await rm(candidate, { force: true });
    }
  }
}

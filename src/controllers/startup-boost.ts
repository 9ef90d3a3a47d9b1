import { NotFoundError } from "../domain/errors.ts";
import { LABEL } from "../domain/labels.ts";
import type { Logger } from "../domain/logger.ts";
import { sizeByName } from "../domain/sizes.ts";
import type { ContainerInfo, ContainerSpec, Engine } from "../engine/engine.ts";

/**
 * The CPU cap a new container boots with: `boost` for a web container (whose traffic
 * waits for its readiness check) when that is more than its size's cap; undefined when it
 * boots at its size's cap. Pure.
 */
export function startupCpus(spec: ContainerSpec, boost: number): number | undefined {
  if (spec.labels[LABEL.processType] !== "web") return undefined;
  return boost > spec.limits.cpus ? boost : undefined;
}

/**
 * Startup CPU boost (as Cloud Run's): a web container boots with a higher CPU cap
 * (SLIPWAY_STARTUP_CPUS), set on its cgroup between its init and its start, and gets its
 * size's cap back once it first passed its readiness check (settle). A runtime that
 * compiles and loads code at start (Node.js needs ~0.12 CPU-seconds before it listens)
 * then is not held to 0.5 CPU while traffic waits for it. Memory, pids and everything
 * else stay at the size's limits throughout; the cap never drops below the size's.
 *
 * Containers found running when the daemon starts may have been boosted by the daemon
 * before it: adopt() has them settled like new ones.
 */
export class StartupBoost {
  readonly #engine: Pick<Engine, "initContainer" | "setCpuLimit">;
  readonly #logger: Logger;
  /** Boosted containers, by id, and the cap they get back. */
  readonly #boosted = new Map<string, number>();

  constructor(engine: Pick<Engine, "initContainer" | "setCpuLimit">, logger: Logger) {
    this.#engine = engine;
    this.#logger = logger;
  }

  /** Whether the engine can change a container's cap after its creation. */
  get available(): boolean {
    return this.#engine.setCpuLimit !== undefined && this.#engine.initContainer !== undefined;
  }

  /**
   * Initializes a created container and raises its cap to `cpus` before its start. A
   * failure to raise it is logged: the container boots at its size's cap.
   */
  async boost(id: string, spec: ContainerSpec, cpus: number): Promise<void> {
    const { initContainer, setCpuLimit } = this.#engine;
    if (initContainer === undefined || setCpuLimit === undefined) return;
    await initContainer.call(this.#engine, id);
    try {
      // Recorded first: a failure half-way still gets the size's cap set again.
      this.#boosted.set(id, spec.limits.cpus);
      await setCpuLimit.call(this.#engine, id, cpus);
    } catch (error) {
      this.#logger.warn("could not raise a booting container's CPU cap", {
        container: spec.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Records a container boosted elsewhere (PreparedContainers) to be settled like others. */
  boosted(id: string, sizeCpus: number): void {
    this.#boosted.set(id, sizeCpus);
  }

  /** Running containers this daemon did not start: settled to their size's cap too. */
  adopt(containers: readonly ContainerInfo[]): void {
    if (this.#engine.setCpuLimit === undefined) return;
    for (const c of containers) {
      const size = c.labels[LABEL.size];
      if (c.state !== "running" || size === undefined || this.#boosted.has(c.id)) continue;
      this.#boosted.set(c.id, sizeByName(size).cpus);
    }
  }

  /** The container is gone (stopped, removed, failed its check): nothing to settle. */
  forget(id: string): void {
    this.#boosted.delete(id);
  }

  /**
   * Gives boosted containers that `ready` accepts their size's cap back; one that fails
   * stays recorded and is tried again at the next call.
   */
  async settle(ready: (id: string) => boolean): Promise<void> {
    const { setCpuLimit } = this.#engine;
    if (setCpuLimit === undefined) return;
    for (const [id, cpus] of [...this.#boosted]) {
      if (!ready(id)) continue;
      try {
        await setCpuLimit.call(this.#engine, id, cpus);
        this.#boosted.delete(id);
      } catch (error) {
        if (error instanceof NotFoundError) {
          this.#boosted.delete(id);
          continue;
        }
        this.#logger.warn("could not set a container's CPU cap back to its size's", {
          container: id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}

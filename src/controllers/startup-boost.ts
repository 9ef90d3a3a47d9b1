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
 * Startup CPU boost (as Cloud Run's): a web container's CPU cap is raised to
 * SLIPWAY_STARTUP_CPUS as soon as it started, and set back to its size's once it first
 * passed its readiness check (settle). A runtime that compiles and loads code at start
 * (Node.js needs ~0.12 CPU-seconds before it listens) then is not held to 0.5 CPU while
 * traffic waits for it. Memory, pids and everything else stay at the size's limits; the
 * cap never drops below the size's. The raise is not waited for: on Podman it is a
 * runtime update of 0.04-0.1 s on a 2-core machine, which before the start would hold up
 * the start, and the app is already booting meanwhile.
 *
 * Containers found running when the daemon starts may have been boosted by the daemon
 * before it: adopt() has them settled like new ones.
 */
export class StartupBoost {
  readonly #engine: Pick<Engine, "setCpuLimit">;
  readonly #logger: Logger;
  /** Boosted containers, by id: the cap they get back, and the raise under way. */
  readonly #boosted = new Map<string, { readonly cpus: number; readonly raised: Promise<void> }>();

  constructor(engine: Pick<Engine, "setCpuLimit">, logger: Logger) {
    this.#engine = engine;
    this.#logger = logger;
  }

  /** Whether the engine can change a container's cap after its creation. */
  get available(): boolean {
    return this.#engine.setCpuLimit !== undefined;
  }

  /**
   * Raises a started container's cap to `cpus`, in the background: a failure is logged
   * (the container boots at its size's cap), and settle() waits for it.
   */
  raise(id: string, spec: ContainerSpec, cpus: number): void {
    const { setCpuLimit } = this.#engine;
    if (setCpuLimit === undefined) return;
    const raised = setCpuLimit.call(this.#engine, id, cpus).catch((error: unknown) => {
      this.#logger.warn("could not raise a booting container's CPU cap", {
        container: spec.name,
        error: error instanceof Error ? error.message : String(error),
      });
    });
    this.#boosted.set(id, { cpus: spec.limits.cpus, raised });
  }

  /** Running containers this daemon did not start: settled to their size's cap too. */
  adopt(containers: readonly ContainerInfo[]): void {
    if (this.#engine.setCpuLimit === undefined) return;
    for (const c of containers) {
      const size = c.labels[LABEL.size];
      if (c.state !== "running" || size === undefined || this.#boosted.has(c.id)) continue;
      this.#boosted.set(c.id, { cpus: sizeByName(size).cpus, raised: Promise.resolve() });
    }
  }

  /** The container is gone (stopped, removed, failed its check): nothing to settle. */
  forget(id: string): void {
    this.#boosted.delete(id);
  }

  /**
   * Gives boosted containers that `ready` accepts their size's cap back, once their raise
   * is over; one that fails stays recorded and is tried again at the next call.
   */
  async settle(ready: (id: string) => boolean): Promise<void> {
    const { setCpuLimit } = this.#engine;
    if (setCpuLimit === undefined) return;
    for (const [id, boosted] of [...this.#boosted]) {
      if (!ready(id)) continue;
      await boosted.raised;
      try {
        await setCpuLimit.call(this.#engine, id, boosted.cpus);
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

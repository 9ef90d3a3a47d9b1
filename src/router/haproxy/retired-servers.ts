import type { ServerRef } from "./runtime-diff.ts";

/**
 * The servers an endpoint change put in maintenance, and since when: they are deleted at a
 * later change, once old enough that no request can still be on its way to them (HAProxy
 * 2.6 can crash deleting a server a stream still refers to). Pure bookkeeping; a reload
 * drops every retired server, so it clears this too.
 */
export class RetiredServers {
  readonly #since = new Map<string, { readonly server: ServerRef; readonly at: number }>();
  readonly #ageMs: number;

  /** `ageMs`: how long a server stays retired before it may be deleted. */
  constructor(ageMs: number) {
    this.#ageMs = ageMs;
  }

  get size(): number {
    return this.#since.size;
  }

  retire(servers: readonly ServerRef[], now: number): void {
    for (const server of servers) {
      if (!this.#since.has(key(server))) this.#since.set(key(server), { server, at: now });
    }
  }

  /** Servers back in use (added again under the same name) or deleted. */
  forget(servers: readonly ServerRef[]): void {
    for (const server of servers) this.#since.delete(key(server));
  }

  /** The retired servers old enough to delete, oldest first. */
  due(now: number): ServerRef[] {
    return [...this.#since.values()]
      .filter((entry) => now - entry.at >= this.#ageMs)
      .sort((a, b) => a.at - b.at)
      .map((entry) => entry.server);
  }

  clear(): void {
    this.#since.clear();
  }
}

function key(server: ServerRef): string {
  return `${server.backend}/${server.name}`;
}

/**
 * One request per key for callers that ask before control returns to the event loop: the
 * first one's promise is handed to the others, and forgotten in a microtask queued after
 * it. That is as fresh as asking each time: no I/O completes until the event loop runs,
 * so nothing one caller saw can be missing from the shared answer. Whoever asks later
 * asks anew. (A rollout inspects a container it just started twice at once, for the
 * readiness check and the security audit; an inspect costs Podman 3-55 ms of CPU, which
 * the booting app needs.)
 */
export class SameTurnRequests<T> {
  readonly #pending = new Map<string, Promise<T>>();

  ask(key: string, request: () => Promise<T>): Promise<T> {
    let shared = this.#pending.get(key);
    if (shared === undefined) {
      shared = request();
      this.#pending.set(key, shared);
      // Queued after the continuations of callers already on their way here.
      queueMicrotask(() => this.#pending.delete(key));
    }
    return shared;
  }
}

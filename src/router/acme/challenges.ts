import type { ChallengeResponder } from "./acme-client.ts";

const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * The http-01 key authorizations of pending challenges, in memory: the ACME client puts
 * them here and the API's unauthenticated /.well-known/acme-challenge/TOKEN reads them.
 */
export class ChallengeStore implements ChallengeResponder {
  readonly #answers = new Map<string, string>();

  set(token: string, keyAuthorization: string): void {
    this.#answers.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#answers.delete(token);
  }

  /** The key authorization for a token, or undefined (also for a malformed token). */
  get(token: string): string | undefined {
    return TOKEN.test(token) ? this.#answers.get(token) : undefined;
  }
}

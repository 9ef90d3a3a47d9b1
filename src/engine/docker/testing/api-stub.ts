import type { Duplex, Readable } from "node:stream";
import type { EngineApi, RequestOptions } from "../api-client.ts";

/**
 * The base of unit tests' engine API stubs: a test answers the JSON requests it is about;
 * text, streams and upgrades fail loudly unless it answers those too.
 */
export abstract class ApiStub implements EngineApi {
  abstract json(method: string, path: string, options?: RequestOptions): Promise<unknown>;

  text(method: string, path: string): Promise<string> {
    return Promise.reject(new Error(`not used: ${method} ${path}`));
  }

  stream(method: string, path: string): Promise<Readable> {
    return Promise.reject(new Error(`not used: ${method} ${path}`));
  }

  upgrade(method: string, path: string): Promise<Duplex> {
    return Promise.reject(new Error(`not used: ${method} ${path}`));
  }
}

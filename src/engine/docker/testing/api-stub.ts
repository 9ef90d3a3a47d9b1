import type { Duplex, Readable } from "node:stream";
import type { EngineApi, RequestOptions } from "../api-client.ts";
import { DockerEngine } from "../docker-engine.ts";

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

/** A DockerEngine of instance on api, without a firewall. */
export function engineOn(api: EngineApi, instance: string): DockerEngine {
  return new DockerEngine({
    socketPath: "/nonexistent",
    instance,
    networkPool: "10.213.0.0/16",
    api,
    firewall: null,
  });
}

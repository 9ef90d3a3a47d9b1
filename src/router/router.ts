import type { RouterPolicy } from "../domain/router-policy.ts";

/**
 * The router port. Controllers hand it the complete desired routing table; the driver
 * (src/router/haproxy/) renders it whole with a pure function, skips identical configs,
 * validates, swaps atomically and reloads hitlessly. Endpoint-only changes (containers
 * added or removed) go through HAProxy's runtime API without a reload.
 */
export interface Router {
  /** Starts the router processes if they are not running (adopts them if they are). */
  start(): Promise<void>;
  /** Converges the running router to this table. Idempotent. */
  apply(table: RouteTable): Promise<void>;
  /** Stops the router processes. */
  stop(): Promise<void>;
  /**
   * Whether the router's processes still run. The daemon asks every few seconds and
   * starts a router that died again (src/daemon/router-watch.ts).
   */
  running(): Promise<boolean>;
}

/** One upstream container endpoint. */
export interface Endpoint {
  /** Stable server name (container name). */
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/** Everything needed to route one app. */
export interface AppRoute {
  readonly app: string;
  /** Host names (without port) that reach this app, e.g. hello.slipway.localhost */
  readonly hosts: readonly string[];
  readonly endpoints: readonly Endpoint[];
  /** Headers, HSTS, TLS profile and rate limit; undefined means the platform defaults. */
  readonly policy?: RouterPolicy;
}

/** The whole desired routing state. */
export interface RouteTable {
  readonly apps: readonly AppRoute[];
  /**
   * Installed certificates of custom domains, served by SNI after the platform's default
   * certificate (with the TLS profile of the domain's app). Undefined leaves the crt-list
   * as it is.
   */
  readonly certificates?: readonly DomainCertificate[];
}

/** A custom domain and the combined PEM file (certificate, chain, key) that serves it. */
export interface DomainCertificate {
  readonly host: string;
  readonly pem: string;
}

/**
 * Certificates and TLS profiles of custom domains on a real HAProxy: a new, renewed or
 * removed certificate and a profile switch reach the running workers through the runtime
 * API (no reload: same worker, same reload counter) while a keep-alive client loop keeps
 * going without a failure; the files on disk give the same state after a restart.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, type PeerCertificate } from "node:tls";
import { DEFAULT_POLICY, type RouterPolicy } from "../../domain/router-policy.ts";
import type { Logger } from "../../domain/logger.ts";
import { ensureServerCertificate } from "../../security/ca.ts";
import { makeTestCertificates } from "../acme/test-certs.ts";
import type { RouterSettings } from "../render.ts";
import type { DomainCertificate, RouteTable } from "../router.ts";
import { writeCrtList } from "./crt-list.ts";
import { HaproxyRouter } from "./haproxy-router.ts";
import { MasterCli, type ProcessList } from "./master-cli.ts";
import { runtimeCommand } from "../metrics/show-stat.ts";
import { pemPayload } from "./runtime-certs.ts";
import {
  closeServer,
  freePort,
  keepAliveLoad,
  portOf,
  run,
  startUpstream,
  type LoadResult,
} from "./test-helpers.ts";

const DOMAIN = "test.localhost";
const SHOP = "www.shop.example";
const BLOG = "blog.example";
const MODERN: RouterPolicy = { ...DEFAULT_POLICY, tls: "modern" };

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe("certificates through HAProxy's runtime API (real haproxy)", () => {
  const certs = makeTestCertificates();
  let dir = "";
  let router: HaproxyRouter;
  let routerOptions: ConstructorParameters<typeof HaproxyRouter>[0];
  let upstream: Server;
  let httpsPort = 0;
  let defaultPem = "";
  let caPem = "";
  let masterSocket = "";
  const pem = (host: string) => join(dir, "domains", `${host}.pem`);
  const install = async (host: string, names: readonly string[] = [host]) => {
    const pair = certs.leaf(names);
    await writeFile(pem(host), pair.cert + certs.intermediate.cert + pair.key, { mode: 0o600 });
    return pair.cert;
  };
  const table = (
    certificates: readonly DomainCertificate[],
    shopPolicy: RouterPolicy = DEFAULT_POLICY,
  ): RouteTable => ({
    apps: [
      {
        app: "shop",
        hosts: [`shop.${DOMAIN}`, SHOP],
        endpoints: [{ name: "shop-web-1", address: "127.0.0.1", port: portOf(upstream) }],
        policy: shopPolicy,
      },
      {
        app: "blog",
        hosts: [`blog.${DOMAIN}`, BLOG],
        endpoints: [{ name: "blog-web-1", address: "127.0.0.1", port: portOf(upstream) }],
      },
    ],
    certificates,
  });
  const processes = async (): Promise<ProcessList> => new MasterCli(masterSocket).showProc();
  const served = (host: string, version?: "TLSv1.2" | "TLSv1.3") =>
    new Promise<PeerCertificate>((resolve, reject) => {
      const socket = connect({
        host: "127.0.0.1",
        port: httpsPort,
        servername: host,
        rejectUnauthorized: false,
        ...(version === undefined ? {} : { minVersion: version, maxVersion: version }),
      });
      socket.once("secureConnect", () => {
        resolve(socket.getPeerCertificate());
        socket.destroy();
      });
      socket.once("error", reject);
    });
  const handshake = (host: string, version: "-tls1_2" | "-tls1_3") =>
    run("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${String(httpsPort)}`,
      "-servername",
      host,
      version,
    ]);
  /** Runs `work` under a keep-alive client loop against `host`; returns what the loop saw. */
  const underLoad = async (host: string, work: () => Promise<void>): Promise<LoadResult> => {
    const stop = new AbortController();
    const load = keepAliveLoad({
      port: httpsPort,
      host,
      ca: caPem,
      concurrency: 4,
      signal: stop.signal,
    });
    try {
      await work();
    } finally {
      stop.abort();
    }
    return load;
  };

  before(async () => {
    dir = await mkdtemp("/tmp/slipway-certs-");
    await mkdir(join(dir, "run"), { mode: 0o700 });
    await mkdir(join(dir, "domains"), { mode: 0o700 });
    const cert = await ensureServerCertificate({
      caDir: join(dir, "ca"),
      outDir: join(dir, "certs"),
      domain: DOMAIN,
    });
    defaultPem = cert.pemPath;
    caPem = await readFile(join(dir, "ca", "ca.pem"), "utf8");
    upstream = await startUpstream({ port: 0, host: "127.0.0.1" }, "hello");
    const apiSocket = join(dir, "run", "api.sock");
    httpsPort = await freePort();
    const settings: RouterSettings = {
      bindAddress: "127.0.0.1",
      httpPort: await freePort(),
      httpsPort,
      domain: DOMAIN,
      platformHost: `slipway.${DOMAIN}`,
      apiSocket,
      crtList: join(dir, "crt-list"),
      statsSocket: join(dir, "run", "haproxy.sock"),
      mapDir: join(dir, "state"),
    };
    await writeCrtList(settings.crtList, [defaultPem]);
    masterSocket = join(dir, "run", "haproxy-master.sock");
    routerOptions = {
      stateDir: join(dir, "state"),
      runDir: join(dir, "run"),
      settings,
      logger: quiet,
      readyTimeoutMs: 10_000,
      stopGraceMs: 1_000,
      defaultCertificate: defaultPem,
    };
    router = new HaproxyRouter(routerOptions);
    await router.start();
    await install(SHOP);
    await router.apply(table([{ host: SHOP, pem: pem(SHOP) }]));
  });

  after(async () => {
    await router.stop();
    await closeServer(upstream);
    await rm(dir, { recursive: true, force: true });
  });

  it("adds, renews and removes certificates without a reload, failing no request", async () => {
    assert.match((await served(SHOP)).subjectaltname ?? "", /DNS:www\.shop\.example/);
    const before = await processes();
    let renewed = "";
    const load = await underLoad(`shop.${DOMAIN}`, async () => {
      // A new domain's certificate.
      await install(BLOG);
      await router.apply(
        table([
          { host: SHOP, pem: pem(SHOP) },
          { host: BLOG, pem: pem(BLOG) },
        ]),
      );
      assert.match((await served(BLOG)).subjectaltname ?? "", /DNS:blog\.example/);
      // A renewal: same path, new content (what ACME and certs:add do).
      renewed = await install(SHOP, [SHOP, "shop.example"]);
      await router.apply(
        table([
          { host: SHOP, pem: pem(SHOP) },
          { host: BLOG, pem: pem(BLOG) },
        ]),
      );
      assert.match((await served(SHOP)).subjectaltname ?? "", /DNS:shop\.example/);
      // A removal: the host falls back to the default certificate.
      await router.apply(table([{ host: SHOP, pem: pem(SHOP) }]));
      assert.match((await served(BLOG)).subjectaltname ?? "", /test\.localhost/);
    });
    assert.deepEqual(load.failures, []);
    assert.ok(load.ok > 0);
    const now = await processes();
    assert.equal(now.master.reloads, before.master.reloads, "no reload");
    assert.deepEqual(now.workers, before.workers, "the same worker serves");
    assert.equal(
      await readFile(join(dir, "crt-list"), "utf8"),
      `${defaultPem}\n${pem(SHOP)} ${SHOP}\n`,
    );
    const servedNow = await served(SHOP);
    assert.equal(servedNow.raw.toString("base64"), pemBody(renewed));
  });

  it("serves a modern app's custom domain TLS 1.3 only, without a reload", async () => {
    await install(BLOG);
    const certificates = [
      { host: SHOP, pem: pem(SHOP) },
      { host: BLOG, pem: pem(BLOG) },
    ];
    const before = await processes();
    await router.apply(table(certificates, MODERN));
    for (const host of [SHOP, `shop.${DOMAIN}`]) {
      const tls12 = await handshake(host, "-tls1_2");
      assert.notEqual(tls12.code, 0, `${host}: TLS 1.2 refused`);
      assert.match(tls12.stdout + tls12.stderr, /alert (number )?70|protocol version/i);
      assert.equal((await handshake(host, "-tls1_3")).code, 0, `${host}: TLS 1.3 accepted`);
    }
    for (const host of [BLOG, `blog.${DOMAIN}`]) {
      assert.equal((await handshake(host, "-tls1_2")).code, 0, `${host}: intermediate keeps 1.2`);
    }
    assert.match((await served(SHOP, "TLSv1.3")).subjectaltname ?? "", /www\.shop\.example/);
    assert.equal((await processes()).master.reloads, before.master.reloads, "no reload");
    // Back to intermediate.
    await router.apply(table(certificates));
    assert.equal((await handshake(SHOP, "-tls1_2")).code, 0, "intermediate again");
    assert.equal((await processes()).master.reloads, before.master.reloads, "no reload");
  });

  it("falls back to a hitless reload when the runtime API refuses", async () => {
    // An open transaction on another certificate makes HAProxy refuse every `set ssl cert`.
    const pending = await runtimeCommand(
      join(dir, "run", "haproxy.sock"),
      `set ssl cert ${pem(SHOP)} <<\n${pemPayload(await readFile(pem(SHOP), "utf8"))}\n`,
    );
    assert.match(pending, /Transaction created/);
    const before = await processes();
    const renewed = await install(BLOG, [BLOG, "www.blog.example"]);
    await router.apply(
      table([
        { host: SHOP, pem: pem(SHOP) },
        { host: BLOG, pem: pem(BLOG) },
      ]),
    );
    assert.equal((await served(BLOG)).raw.toString("base64"), pemBody(renewed));
    assert.equal((await processes()).master.reloads, before.master.reloads + 1, "one reload");
  });

  it("renews a certificate without a reload after a daemon restart adopted the router", async () => {
    await router.apply(
      table([
        { host: SHOP, pem: pem(SHOP) },
        { host: BLOG, pem: pem(BLOG) },
      ]),
    );
    // A new daemon's router takes over the running HAProxy.
    const adopted = new HaproxyRouter(routerOptions);
    await adopted.start();
    const before = await processes();
    const renewed = await install(SHOP);
    await adopted.apply(
      table([
        { host: SHOP, pem: pem(SHOP) },
        { host: BLOG, pem: pem(BLOG) },
      ]),
    );
    assert.equal((await served(SHOP)).raw.toString("base64"), pemBody(renewed));
    assert.equal((await processes()).master.reloads, before.master.reloads, "no reload");
    router = adopted;
  });

  it("loads the same state from the files after a restart", async () => {
    await router.apply(
      table(
        [
          { host: SHOP, pem: pem(SHOP) },
          { host: BLOG, pem: pem(BLOG) },
        ],
        MODERN,
      ),
    );
    const shop = (await served(SHOP)).raw.toString("base64");
    await router.stop();
    await router.start();
    assert.equal((await served(SHOP)).raw.toString("base64"), shop);
    assert.match((await served(BLOG)).subjectaltname ?? "", /DNS:blog\.example/);
    assert.notEqual((await handshake(SHOP, "-tls1_2")).code, 0, "still TLS 1.3 only");
    assert.equal((await handshake(BLOG, "-tls1_2")).code, 0);
  });
});

/** The base64 body of the first certificate in a PEM text. */
function pemBody(pemText: string): string {
  return pemText
    .split("-----END CERTIFICATE-----")[0]!
    .replace("-----BEGIN CERTIFICATE-----", "")
    .replace(/\s+/g, "");
}

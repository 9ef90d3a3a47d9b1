import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AccessLog, parseAccessLine, quantile } from "./access-log.ts";
import { prometheusText, type AppMetrics } from "./app-metrics.ts";
import { backendStats, parseShowStat } from "./show-stat.ts";

const CSV = [
  "# pxname,svname,qcur,scur,stot,status,rate,req_rate,req_tot,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,rtime,ttime,",
  "https,FRONTEND,,3,10,OPEN,,5,10,0,9,0,1,0,0,,,",
  "app_shop,shop-web-1,0,1,6,UP,,,6,0,5,0,1,0,0,4,5,",
  "app_shop,shop-web-2,0,0,0,DOWN,,,0,0,0,0,0,0,0,0,0,",
  "app_shop,BACKEND,0,1,6,UP,3,,6,0,5,0,1,0,0,4,5,",
  "platform_api,BACKEND,0,0,0,UP,0,,0,0,0,0,0,0,0,0,0,",
  "",
].join("\n");

describe("router metrics", () => {
  it("reads per-app backend counters from show stat", () => {
    const [shop, ...rest] = backendStats(parseShowStat(CSV));
    assert.equal(rest.length, 0);
    assert.deepEqual(shop, {
      app: "shop",
      processType: "web",
      requestRate: 3,
      requestsTotal: 6,
      responseTimeMeanMs: 4,
      totalTimeMeanMs: 5,
      statusCounts: { "1xx": 0, "2xx": 5, "3xx": 0, "4xx": 1, "5xx": 0, other: 0 },
      activeConnections: 1,
      serversUp: 1,
      servers: 2,
    });
  });

  it("parses access-log lines and ignores others", () => {
    const entry = parseAccessLine(
      "slipway-access\tapp_shop\t200\t12\t345\t10.0.0.1\tabc-123\tGET\t/a b?x=1\n",
    );
    assert.equal(entry?.app, "shop");
    assert.equal(entry.status, 200);
    assert.equal(entry.durationMs, 12);
    assert.equal(entry.bytes, 345);
    assert.equal(entry.clientIp, "10.0.0.1");
    assert.equal(entry.requestId, "abc-123");
    assert.equal(entry.method, "GET");
    assert.equal(entry.path, "/a b?x=1");
    assert.equal(parseAccessLine("slipway-access\tplatform_api\t200\t1\t1\tx\ty\tGET\t/"), null);
    assert.equal(parseAccessLine("something else"), null);
  });

  it("computes percentiles over recent requests", () => {
    assert.equal(quantile([], 0.5), 0);
    assert.equal(
      quantile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.99,
      ),
      99,
    );
    const log = new AccessLog({ dir: null, keep: 10 });
    for (let i = 1; i <= 20; i++) {
      log.record(`slipway-access\tapp_shop\t200\t${String(i)}\t1\tc\tid\tGET\t/`);
    }
    assert.deepEqual(log.percentiles("shop"), { p50: 15, p90: 19, p99: 20, samples: 10 });
    assert.equal(log.recent("shop", 3).length, 3);
  });

  it("rotates an app's access log file by size and tells listeners of each request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slipway-access-"));
    try {
      const log = new AccessLog({ dir, maxFileBytes: 300 });
      const seen: string[] = [];
      const unsubscribe = log.onEntry((entry) => seen.push(entry.path));
      // Two batches (the log appends once per app every 250 ms): the second passes the limit.
      for (let batch = 0; batch < 2; batch++) {
        for (let i = 0; i < 6; i++) {
          log.record(`slipway-access\tapp_shop\t200\t1\t1\tc\tid${String(i)}\tGET\t/p${String(i)}`);
        }
        await log.flush();
      }
      unsubscribe();
      log.record("slipway-access\tapp_shop\t200\t1\t1\tc\tid\tGET\t/after");
      await log.close();
      assert.equal(seen.length, 12);
      const current = statSync(join(dir, "shop.log")).size;
      const previous = statSync(join(dir, "shop.log.1")).size;
      assert.ok(current <= 300 && previous <= 300, `${String(current)} ${String(previous)}`);
      const last = readFileSync(join(dir, "shop.log"), "utf8").trimEnd().split("\n").at(-1);
      assert.match(last ?? "", /^\d{4}-\d\d-\d\dT[\d:.]+Z\t200\t1\t1\tc\tid\tGET\t\/after$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps a line break inside a message from starting a line of the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slipway-access-"));
    try {
      const log = new AccessLog({ dir });
      log.record(
        "slipway-access\tapp_shop\t200\t1\t1\tc\tid\tGET\t/a\n2026-01-01T00:00:00Z\t500\r\n",
      );
      await log.close();
      const lines = readFileSync(join(dir, "shop.log"), "utf8").split("\n");
      assert.equal(lines.length, 2, "one line and the final newline");
      assert.match(lines[0] ?? "", /\tGET\t\/a 2026-01-01T00:00:00Z\t500 $/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("receives HAProxy's octet-counted lines over TCP", async () => {
    const log = new AccessLog({ dir: null });
    const port = await log.listen(0);
    const line = "slipway-access\tapp_shop\t200\t7\t12\t127.0.0.1\tid-1\tGET\t/tcp";
    const frame = `${String(Buffer.byteLength(line))} ${line}`;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.end(frame + frame);
      });
      socket.on("close", () => {
        resolve();
      });
      socket.on("error", reject);
    });
    for (let i = 0; i < 100 && log.recent("shop").length < 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(
      log.recent("shop").map((e) => [e.path, e.durationMs, e.requestId]),
      [
        ["/tcp", 7, "id-1"],
        ["/tcp", 7, "id-1"],
      ],
    );
    await log.close();
  });

  it("renders the Prometheus text format", () => {
    const metrics: AppMetrics[] = [
      {
        ...backendStats(parseShowStat(CSV))[0]!,
        responseTimePercentilesMs: { p50: 3, p90: 7, p99: 9, samples: 6 },
      },
    ];
    const text = prometheusText(metrics);
    assert.match(text, /^# HELP slipway_http_requests_total /m);
    assert.match(text, /^slipway_http_requests_total\{app="shop",process_type="web"\} 6$/m);
    assert.match(
      text,
      /^slipway_http_responses_total\{app="shop",process_type="web",code="4xx"\} 1$/m,
    );
    assert.match(
      text,
      /^slipway_http_response_time_ms\{app="shop",process_type="web",quantile="0.99"\} 9$/m,
    );
  });
});

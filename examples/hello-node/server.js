"use strict";
// A tiny web app for Slipway: answers on $PORT, reports what it runs on, and shuts down
// gracefully on SIGTERM (Slipway drains a container from the router, then sends SIGTERM).
const http = require("node:http");
const os = require("node:os");
const ms = require("ms");

const port = Number(process.env.PORT || 5000);
const started = Date.now();

const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
    return;
  }
  const body = [
    // A config var (slipway env:set GREETING=... --app NAME) replaces the first line.
    process.env.GREETING || "Hello from Slipway",
    `node ${process.version} on ${os.hostname()}`,
    `pid ${process.pid}, uid ${process.getuid()}, up ${ms(Date.now() - started)}`,
    `NODE_ENV=${process.env.NODE_ENV || ""}`,
    "",
  ].join("\n");
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  res.end(body);
});

server.listen(port, () => {
  console.log(`hello-node listening on port ${port}`);
});

function shutdown(signal) {
  console.log(`${signal} received, closing the server`);
  server.close(() => {
    console.log("server closed, bye");
    process.exit(0);
  });
  // Keep-alive connections would hold close() open: end them, and give up after 10 s.
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
}

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

#!/usr/bin/env python3
"""Static file server of Slipway's static-site buildpack, run by the run image's python3.

Serves STATIC_ROOT (default: the app directory) on $PORT:
- files by their exact path; a directory by its index.html; "/about" by "about.html";
  never a directory listing, never a hidden path (".git", ".heroku", ...) nor the Procfile;
  a custom 404.html when there is one;
- correct Content-Type (with charset for text), ETag and Last-Modified with 304 answers,
  Cache-Control: HTML is revalidated on every request, fingerprinted assets
  ("app.3f9a1c2e.js") are cached for a year, everything else for an hour;
- gzip files the buildpack made ahead of time when the client accepts them;
- bodies with sendfile(2), one thread per connection, HTTP/1.1 keep-alive; HEAD; GET only.
The router in front adds TLS and the security headers.
"""
import email.utils
import http.server
import mimetypes
import os
import posixpath
import re
import signal
import socketserver
import sys
import threading
import urllib.parse

ROOT = os.path.realpath(os.path.join(os.getcwd(), os.environ.get("STATIC_ROOT", ".")))
PORT = int(os.environ.get("PORT", "5000"))
HIDDEN_NAMES = {"Procfile"}
FINGERPRINT = re.compile(r"[.-][0-9a-fA-F]{8,}\.[A-Za-z0-9]+$")
TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
}


def content_type(path):
    ext = os.path.splitext(path)[1].lower()
    kind = TYPES.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    text = kind.startswith("text/") or kind in (
        "application/json",
        "application/manifest+json",
        "application/xml",
        "image/svg+xml",
    )
    return f"{kind}; charset=utf-8" if text else kind


def cache_control(path):
    if path.endswith((".html", ".htm")):
        return "no-cache"
    if FINGERPRINT.search(os.path.basename(path)):
        return "public, max-age=31536000, immutable"
    return "public, max-age=3600"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "slipway-static"
    sys_version = ""
    timeout = 60

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self.serve(body=True)

    def do_HEAD(self):
        self.serve(body=False)

    def serve(self, body):
        path = self.resolve(urllib.parse.urlsplit(self.path).path)
        if path is None:
            not_found = os.path.join(ROOT, "404.html")
            if os.path.isfile(not_found):
                return self.send_file(not_found, body, status=404)
            return self.send_text(404, "Not Found\n", body)
        return self.send_file(path, body)

    def resolve(self, url_path):
        """The file for a URL path, or None. Never anything outside ROOT or hidden."""
        try:
            decoded = urllib.parse.unquote(url_path, errors="strict")
        except UnicodeDecodeError:
            return None
        if "\0" in decoded or "\\" in decoded:
            return None
        clean = posixpath.normpath("/" + decoded)
        parts = [p for p in clean.split("/") if p]
        for part in parts:
            if (part.startswith(".") and part != ".well-known") or part in HIDDEN_NAMES:
                return None
        candidate = os.path.join(ROOT, *parts)
        options = [candidate]
        if os.path.isdir(candidate):
            options = [os.path.join(candidate, "index.html")]
        elif not candidate.endswith(".html"):
            options.append(candidate + ".html")
        for option in options:
            real = os.path.realpath(option)
            if (real == ROOT or real.startswith(ROOT + os.sep)) and os.path.isfile(real):
                return real
        return None

    def send_file(self, path, body, status=200):
        encoding = None
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        served = path
        if accepts_gzip and os.path.isfile(path + ".gz"):
            served, encoding = path + ".gz", "gzip"
        try:
            handle = open(served, "rb")
        except OSError:
            return self.send_text(404, "Not Found\n", body)
        with handle:
            stat = os.fstat(handle.fileno())
            etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}{"-gz" if encoding else ""}"'
            modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
            fresh = False
            if status == 200:
                if_none_match = self.headers.get("If-None-Match")
                if if_none_match is not None:
                    fresh = etag in [t.strip() for t in if_none_match.split(",")] or if_none_match.strip() == "*"
                elif self.headers.get("If-Modified-Since") == modified:
                    fresh = True
            self.send_response(304 if fresh else status)
            self.send_header("Content-Type", content_type(path))
            self.send_header("Cache-Control", cache_control(path))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.send_header("Vary", "Accept-Encoding")
            self.send_header("X-Content-Type-Options", "nosniff")
            if encoding:
                self.send_header("Content-Encoding", encoding)
            if fresh:
                self.end_headers()
                return
            self.send_header("Content-Length", str(stat.st_size))
            self.end_headers()
            if body and stat.st_size > 0:
                self.wfile.flush()
                offset = 0
                while offset < stat.st_size:
                    sent = os.sendfile(self.connection.fileno(), handle.fileno(), offset, stat.st_size - offset)
                    if sent == 0:
                        break
                    offset += sent

    def send_text(self, status, text, body):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def send_error(self, code, message=None, explain=None):
        # Unsupported methods and malformed requests: a short answer, no HTML page.
        self.close_connection = True
        self.send_text(code, f"{message or self.responses.get(code, ('Error',))[0]}\n", self.command != "HEAD")

    def log_message(self, format, *args):
        sys.stdout.write("%s %s\n" % (self.address_string(), format % args))
        sys.stdout.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    server = Server(("0.0.0.0", PORT), Handler)

    def stop(*_):
        # Finish the requests in flight; the platform sends SIGKILL after its grace period.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"static site from {ROOT} on port {PORT}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()

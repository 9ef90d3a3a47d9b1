import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";

/**
 * A request that asked to switch protocols (`Connection: Upgrade`, `Upgrade: tcp`, as
 * `docker attach` does), handed to the API as a binding. A handler that wants the raw
 * connection calls accept(); otherwise its ordinary response (an error, say) is written
 * to the connection as plain HTTP and the connection is closed.
 */
export interface UpgradeRequest {
  /** Answers 101 and joins the client's connection with `stream` both ways. */
  accept(stream: Duplex): void;
  readonly accepted: boolean;
}

/** The API's bindings: present only on upgrade requests (see serveUpgrades). */
export interface ApiBindings {
  readonly upgrade?: UpgradeRequest;
}

type Fetch = (request: Request, env: ApiBindings) => Response | Promise<Response>;

/**
 * Routes the server's upgrade requests through the same Hono app as every other
 * request, so authentication, validation and problem+json stay in one place; only the
 * final switch to a raw stream happens here. Request bodies are not read: an upgrade
 * request carries its parameters in the path.
 */
export function serveUpgrades(server: Server, fetch: Fetch): void {
  server.on("upgrade", (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {
      // The client went away; whoever joined the stream sees it end.
    });
    void handle(fetch, incoming, socket, head).catch(() => socket.destroy());
  });
}

async function handle(
  fetch: Fetch,
  incoming: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  let accepted = false;
  const upgrade: UpgradeRequest = {
    accept(stream) {
      accepted = true;
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
      );
      if (head.length > 0) stream.write(head);
      socket.pipe(stream, { end: false });
      stream.pipe(socket);
      const close = (): void => {
        socket.destroy();
        stream.destroy();
      };
      stream.on("error", close);
      // The stream ending (the command exited) ends the connection once its output is
      // out. The client ending its side means it left: a terminal has no half-close (EOF
      // is a byte, Ctrl-D), so the stream is destroyed and its owner stops what it served.
      stream.on("close", () => socket.end());
      socket.on("end", () => stream.destroy());
      socket.on("close", () => stream.destroy());
    },
    get accepted() {
      return accepted;
    },
  };
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const url = new URL(incoming.url ?? "/", "http://localhost");
  const response = await fetch(new Request(url, { method: incoming.method ?? "GET", headers }), {
    upgrade,
  });
  if (upgrade.accepted) return;
  // Not switched: the answer (usually a problem) goes back as ordinary HTTP.
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${String(response.status)} ${response.statusText || "Error"}`];
  response.headers.forEach((value, name) => {
    if (!["content-length", "connection", "transfer-encoding"].includes(name))
      lines.push(`${name}: ${value}`);
  });
  lines.push(`content-length: ${String(body.length)}`, "connection: close", "", "");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
}

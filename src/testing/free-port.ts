import { randomInt } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:net";

/**
 * Where test ports come from: below the kernel's ephemeral range (32768-60999 by default),
 * from which outgoing connections take their local ports. A port that listen(0) handed
 * out comes from that range, and a client connection of another test could take it
 * between the check and the server's bind (HAProxy then fails with "Address already in
 * use", seen once in a full run).
 */
const FIRST = 20_000;
const COUNT = 12_000;

/** A port in FIRST..FIRST+COUNT that was free on 127.0.0.1 a moment ago, picked at random. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST + randomInt(COUNT);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${String(FIRST)}-${String(FIRST + COUNT - 1)}`);
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  server.listen(port, "127.0.0.1");
  try {
    await once(server, "listening");
  } catch {
    return false;
  }
  server.close();
  await once(server, "close");
  return true;
}

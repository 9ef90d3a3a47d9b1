/**
 * Decides whether a new haproxy.cfg differs from the running one only in the servers of
 * app backends, so the change can go through the runtime API (add/enable/disable/del
 * server) instead of a reload. Pure: works on the rendered text.
 */

/** The runtime commands that turn the old endpoints into the new ones. */
export interface EndpointChange {
  readonly add: readonly ServerLine[];
  readonly remove: readonly ServerRef[];
}

export interface ServerRef {
  readonly backend: string;
  readonly name: string;
}

export interface ServerLine extends ServerRef {
  /** `addr:port` or `[v6]:port`, exactly as rendered. */
  readonly address: string;
}

const BACKEND = /^backend (app_[a-z0-9-]+)$/;
const SERVER = /^ {4}server (\S+) (\S+)$/;

/**
 * The endpoint change from `previous` to `next`, or null when anything else differs (or a
 * server keeps its name but moves: that one needs a reload).
 */
export function endpointOnlyChange(previous: string, next: string): EndpointChange | null {
  const a = split(previous);
  const b = split(next);
  if (a.rest !== b.rest) return null;
  const add: ServerLine[] = [];
  const remove: ServerRef[] = [];
  for (const [key, server] of b.servers) {
    const old = a.servers.get(key);
    if (old === undefined) add.push(server);
    else if (old.address !== server.address) return null;
  }
  for (const [key, server] of a.servers) {
    if (!b.servers.has(key)) remove.push({ backend: server.backend, name: server.name });
  }
  if (add.length === 0 && remove.length === 0) return null;
  return { add, remove };
}

function split(config: string): { rest: string; servers: Map<string, ServerLine> } {
  const rest: string[] = [];
  const servers = new Map<string, ServerLine>();
  let backend: string | null = null;
  for (const line of config.split("\n")) {
    if (!line.startsWith(" ")) backend = BACKEND.exec(line)?.[1] ?? null;
    const server = backend === null ? null : SERVER.exec(line);
    const name = server?.[1];
    const address = server?.[2];
    if (backend !== null && name !== undefined && address !== undefined) {
      servers.set(`${backend}/${name}`, { backend, name, address });
    } else {
      rest.push(line);
    }
  }
  return { rest: rest.join("\n"), servers };
}

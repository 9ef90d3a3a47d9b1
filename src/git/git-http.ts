import { PassThrough, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { Hono, type Context } from "hono";
import {
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from "../domain/errors.ts";
import type { Store } from "../store/store.ts";
import { principalOf } from "../security/permissions.ts";
import { authenticateBasic } from "./basic-auth.ts";
import { gitApp } from "./git-access.ts";
import type { GitChild, GitHost } from "./git-server.ts";
import { parseGitService, serviceAnnouncement, type GitService } from "./pkt-line.ts";

export interface GitHttpDeps {
  readonly store: Store;
  readonly git: GitHost;
}

const REPO = /^([a-z0-9][a-z0-9-]*)\.git$/;

/**
 * The smart-HTTP git remote, mounted at /git: `GET NAME.git/info/refs?service=...` and
 * `POST NAME.git/git-receive-pack|git-upload-pack`, each the matching git service in
 * stateless-rpc mode, streamed both ways. HTTP Basic auth with an API token as password.
 */
export function gitHttpRoutes(deps: GitHttpDeps): Hono {
  const routes = new Hono();

  routes.get("/:repo/info/refs", async (c) => {
    const service = parseGitService(c.req.query("service"));
    if (service === undefined) {
      return c.text("only smart HTTP is supported: update git (service=git-upload-pack)\n", 403);
    }
    return guarded(c, async () => {
      const child = await open(deps, c, service, ["--stateless-rpc", "--advertise-refs"]);
      child.stdin.end();
      return respond(
        c,
        child,
        `application/x-${service}-advertisement`,
        serviceAnnouncement(service),
      );
    });
  });

  routes.post("/:repo/:service", async (c) => {
    const service = parseGitService(c.req.param("service"));
    if (service === undefined) return c.text("not found\n", 404);
    if (c.req.header("content-type") !== `application/x-${service}-request`) {
      return c.text(`expected Content-Type application/x-${service}-request\n`, 415);
    }
    return guarded(c, async () => {
      const child = await open(deps, c, service, ["--stateless-rpc"]);
      const body = c.req.raw.body;
      if (body === null) child.stdin.end();
      else {
        // git gzips large fetch negotiations; a push pack arrives as is.
        const input = Readable.fromWeb(body);
        const source =
          c.req.header("content-encoding") === "gzip" ? input.pipe(createGunzip()) : input;
        source.on("error", () => child.kill());
        source.pipe(child.stdin).on("error", () => undefined);
      }
      return respond(c, child, `application/x-${service}-result`);
    });
  });

  return routes;
}

async function open(
  deps: GitHttpDeps,
  c: Context,
  service: GitService,
  args: readonly string[],
): Promise<GitChild> {
  const token = await authenticateBasic(deps.store, c.req.header("authorization"));
  const match = REPO.exec(c.req.param("repo") ?? "");
  if (match?.[1] === undefined) throw new ValidationError("a Slipway remote is /git/APP.git");
  // A deploy token pushes and fetches only its own apps; git shows the 403's text as
  // "remote:" lines.
  const app = await gitApp(deps.store, principalOf(token), match[1], service);
  const child = await deps.git.spawn(app, service, args, { name: token.name, via: "http" });
  c.req.raw.signal.addEventListener("abort", () => child.kill(), { once: true });
  return child;
}

/** git shows errors as plain text; a 401 carries a Basic challenge so git asks its credential helper. */
async function guarded(c: Context, handle: () => Promise<Response>): Promise<Response> {
  try {
    return await handle();
  } catch (error) {
    if (error instanceof UnauthorizedError) {
      return c.text(`${error.message}\n`, 401, { "WWW-Authenticate": 'Basic realm="Slipway"' });
    }
    if (error instanceof ForbiddenError) return c.text(`${error.message}\n`, 403);
    if (error instanceof NotFoundError) return c.text(`${error.message}\n`, 404);
    if (error instanceof ValidationError) return c.text(`${error.message}\n`, 400);
    throw error;
  }
}

function respond(c: Context, child: GitChild, type: string, prefix?: Buffer): Response {
  child.stderr.resume();
  const out = new PassThrough();
  if (prefix !== undefined) out.write(prefix);
  child.stdout.pipe(out);
  out.on("close", () => {
    // The client went away mid-response: stop git rather than let it block on a full pipe.
    if (!out.readableEnded && child.exitCode === null) child.kill();
  });
  return c.body(Readable.toWeb(out) as ReadableStream<Uint8Array>, 200, {
    "Content-Type": type,
    "Cache-Control": "no-cache",
  });
}

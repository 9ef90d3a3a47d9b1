import type * as Lifecycle from "../../daemon/lifecycle.ts";
import type { Logger } from "../../domain/logger.ts";
import { keyValues, toJson } from "../format.ts";
import type { CliIo } from "../io.ts";
import { defineCommand, type Command } from "../registry.ts";

// The daemon's side (engine driver, lifecycle, stacks) is loaded only when one of these
// commands runs: every other command, and git's credential helper on each push, starts
// without it (about 10 ms less).
const lifecycle = (): Promise<typeof Lifecycle> => import("../../daemon/lifecycle.ts");

/** Progress on stderr, so stdout stays clean for --json. */
function progressLogger(io: CliIo): Logger {
  const line = (message: string, fields?: Readonly<Record<string, unknown>>): void => {
    io.err(`${message}${fields === undefined ? "" : ` ${JSON.stringify(fields)}`}\n`);
  };
  return { info: line, warn: line, error: line };
}

const upCommand = defineCommand({
  name: "up",
  summary: "start the platform in the background",
  description:
    "Start Slipway on this machine (its Podman service, HAProxy and the control plane) and return once the API answers. Safe to run when it already runs.",
  args: [],
  flags: {},
  examples: ["slipway up", "SLIPWAY_HOME=/srv/slipway SLIPWAY_HTTPS_PORT=8443 slipway up"],
  async run(ctx) {
    const config = ctx.config();
    const { up } = await lifecycle();
    const result = await up(config, ctx.daemonEnv, (line) => {
      ctx.io.err(`${line}\n`);
    });
    if (ctx.json) {
      ctx.io.out(toJson(result));
      return 0;
    }
    ctx.io.out(
      `${result.started ? "Slipway is up." : "Slipway was already running."}\n` +
        keyValues([
          [
            "API",
            `https://slipway.${config.domain}${config.httpsPort === 443 ? "" : `:${String(config.httpsPort)}`}`,
          ],
          ["credentials", result.credentials],
          ["CA certificate", result.caCert],
          ["daemon log", result.log],
        ]),
    );
    return 0;
  },
});

const downCommand = defineCommand({
  name: "down",
  summary: "stop the platform",
  description:
    "Stop the control plane, the router and Slipway's Podman service. App containers are kept and adopted by the next `slipway up`; with --purge, every container, network, volume and image this installation created is removed first.",
  args: [],
  flags: {
    purge: {
      type: "boolean",
      description: "also remove everything the installation created in the engine",
    },
  },
  examples: ["slipway down", "slipway down --purge"],
  async run(ctx, { flags }) {
    const { down } = await lifecycle();
    const result = await down(ctx.config(), { purge: flags.purge, logger: progressLogger(ctx.io) });
    if (ctx.json) ctx.io.out(toJson(result));
    else {
      const purged = result.purged;
      ctx.io.out(
        `Slipway is down.${purged === null ? "" : ` Removed ${String(purged.containers)} containers, ${String(purged.networks)} networks, ${String(purged.volumes)} volumes and ${String(purged.images)} images.`}\n`,
      );
    }
    return 0;
  },
});

const stacksBuild = defineCommand({
  name: "stacks:build",
  summary: "build the default stack and import it into the engine",
  description:
    "Build the default stack (Debian bookworm via debootstrap: a run image and a build image) unless the stack cache already has it, and import it into the engine. Takes a few minutes the first time; prints progress. Needs a running platform (slipway up).",
  args: [],
  flags: {},
  async run(ctx) {
    const config = ctx.config();
    const [{ DockerEngine }, { pathsOf }, { ensureDefaultStack }] = await Promise.all([
      import("../../engine/docker/docker-engine.ts"),
      import("../../daemon/paths.ts"),
      import("../../daemon/stack.ts"),
    ]);
    const paths = pathsOf(config);
    const engine = new DockerEngine({
      socketPath: paths.engineSocket,
      instance: config.instance,
      networkPool: config.engine.networkPool,
    });
    await engine.ping();
    const started = Date.now();
    const stack = await ensureDefaultStack(config, engine, (line) => {
      ctx.io.err(`-----> ${line}\n`);
    });
    if (ctx.json) ctx.io.out(toJson(stack));
    else {
      ctx.io.out(
        `Stack ${stack.name} ${stack.version} is ready (${((Date.now() - started) / 1000).toFixed(1)} s).\n` +
          keyValues([
            ["run image", stack.run.reference],
            ["build image", stack.build.reference],
          ]),
      );
    }
    return 0;
  },
});

/** Commands that act on this machine rather than through the API. */
export const localCommands: readonly Command[] = [upCommand, downCommand, stacksBuild];

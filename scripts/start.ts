/**
 * `npm start` (after scripts/bootstrap.mjs installed what was missing): starts Slipway,
 * builds the default stack if absent, deploys examples/hello-node once, and says where
 * everything is. Safe and quick to run again: each step skips what is already done.
 */
import { join } from "node:path";
import { loadConfig } from "../src/config/config.ts";
import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import { pathsOf } from "../src/daemon/paths.ts";

const root = join(import.meta.dirname, "..");
const env = process.env;
const config = loadConfig(env);
const paths = pathsOf(config);
const app = "hello";

async function slipway(args: string[]): Promise<void> {
  const code = await main(args, env, { cwd: root });
  if (code !== 0) {
    console.error(
      `\nslipway ${args.join(" ")} failed (exit ${String(code)}); see ${paths.daemonLog}`,
    );
    process.exit(code);
  }
}

async function quiet(args: string[]): Promise<{ code: number; stdout: string }> {
  const io = memoryIo();
  const code = await main(args, env, { io, cwd: root });
  return { code, stdout: io.stdout };
}

console.log("==> starting Slipway");
await slipway(["up"]);
console.log("==> making sure the default stack is built");
await slipway(["stacks:build"]);

if ((await quiet(["apps:info", app, "--json"])).code !== 0) {
  console.log(`==> creating the example app "${app}"`);
  await slipway(["apps:create", app]);
}
const releases = await quiet(["releases", "--app", app, "--json"]);
if (releases.code !== 0 || (JSON.parse(releases.stdout) as unknown[]).length === 0) {
  console.log("==> deploying examples/hello-node");
  await slipway(["deploy", join(root, "examples", "hello-node"), "--app", app]);
}

// After a restart the app's containers are adopted, or replaced when they stopped answering
// meanwhile (docs/runtime.md): the URL below should answer when it is printed.
if (!(await serving(app))) {
  console.log(`==> waiting until "${app}" serves`);
  const deadline = Date.now() + 90_000;
  while (!(await serving(app)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!(await serving(app))) {
    console.error(`"${app}" is not serving yet; see: npx slipway ps --app ${app}`);
  }
}

/** Whether a web container of the app passed its readiness check. */
async function serving(name: string): Promise<boolean> {
  const ps = await quiet(["ps", "--app", name, "--json"]);
  if (ps.code !== 0) return false;
  const containers = JSON.parse(ps.stdout) as { type: string; ready: boolean }[];
  return containers.some((c) => c.type === "web" && c.ready);
}

const port = config.httpsPort === 443 ? "" : `:${String(config.httpsPort)}`;
const url = `https://${app}.${config.domain}${port}/`;
console.log(`
Slipway is running.

  App URL:         ${url}
  API:             https://slipway.${config.domain}${port}/
  CA certificate:  ${paths.caCert}   (trust it to reach the platform over HTTPS)
  Admin token:     in ${paths.credentials} (mode 0600; the CLI reads it)

Try:
  curl --cacert ${paths.caCert} ${url}
  npx slipway apps
  npx slipway ps --app ${app}
`);

// The README's two commands start here: `npm start` and `npm test` run this file with
// whatever Node.js the machine has (Debian's, possibly old), so it is plain JavaScript
// that only installs what is missing, then hands over to the project's pinned Node.js 24
// (the `node` package in devDependencies), which runs the TypeScript entry points.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, appendFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const mode = process.argv[2];
const modes = { start: "scripts/start.ts", test: "scripts/test.ts" };
if (!(mode in modes)) {
  console.error(`usage: node scripts/bootstrap.mjs ${Object.keys(modes).join("|")}`);
  process.exit(2);
}

/** Debian packages the platform needs at run time. */
const RUNTIME_PACKAGES = [
  "podman",
  "runc",
  // Podman's container init (/usr/libexec/podman/catatonit), and the process of Slipway's
  // network sandboxes (/usr/bin/catatonit): only recommended by podman's package.
  "catatonit",
  "netavark",
  "aardvark-dns",
  "uidmap",
  "iptables",
  "haproxy",
  "git",
  // Slipway's own sshd for git over SSH (the system's ssh service is left alone).
  "openssh-server",
  "debootstrap",
  "openssl",
  "curl",
  "ca-certificates",
  "iproute2",
  "tar",
  "gzip",
];
/** Extra tools the end-to-end tests drive. */
const TEST_PACKAGES = [
  "busybox-static",
  "testssl.sh",
  "nmap",
  "wrk",
  "pebble",
  "git",
  "openssh-client",
  "python3",
];

function step(message) {
  console.log(`==> ${message}`);
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`${cmd} ${args.join(" ")} failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

function ensureRoot() {
  if (process.getuid && process.getuid() !== 0) {
    console.error(
      "Slipway installs system packages and runs containers: run this as root (sudo npm start).",
    );
    process.exit(1);
  }
  if (!existsSync("/etc/debian_version")) {
    console.error(
      "Slipway's installer supports Debian 12 (bookworm); /etc/debian_version is missing.",
    );
    process.exit(1);
  }
}

function missingPackages(packages) {
  return packages.filter((name) => {
    try {
      const status = execFileSync("dpkg-query", ["-W", "-f=${Status}", name], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      return !status.includes("install ok installed");
    } catch {
      return true;
    }
  });
}

function ensurePackages(packages) {
  const missing = missingPackages(packages);
  if (missing.length === 0) return;
  step(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-q"], { env });
  run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { env });
}

/** User namespaces for `--userns=auto` come from the "containers" ranges. */
function ensureSubordinateIds() {
  for (const file of ["/etc/subuid", "/etc/subgid"]) {
    const text = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (!/^containers:/m.test(text)) {
      step(`adding the "containers" id range to ${file}`);
      appendFileSync(
        file,
        `${text === "" || text.endsWith("\n") ? "" : "\n"}containers:2147483647:2147483648\n`,
      );
    }
  }
}

function ensureNodeModules() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  const node24 = join(root, "node_modules", ".bin", "node");
  if (
    existsSync(marker) &&
    existsSync(node24) &&
    statSync(marker).mtimeMs >= statSync(lock).mtimeMs
  )
    return;
  step("installing npm dependencies (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

ensureRoot();
ensurePackages(mode === "test" ? [...RUNTIME_PACKAGES, ...TEST_PACKAGES] : RUNTIME_PACKAGES);
ensureSubordinateIds();
ensureNodeModules();

const node = join(root, "node_modules", ".bin", "node");
const result = spawnSync(node, [join(root, modes[mode]), ...process.argv.slice(3)], {
  stdio: "inherit",
  cwd: root,
});
process.exit(result.status ?? 1);

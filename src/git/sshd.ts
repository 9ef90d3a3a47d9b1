import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { access, chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { userInfo } from "node:os";
import type { Logger } from "../domain/logger.ts";

/** Where Debian's openssh-server installs sshd. */
export const SSHD_BINARY = "/usr/sbin/sshd";

export interface SshdOptions {
  /** Host key and sshd_config live here (SLIPWAY_HOME/ssh). */
  readonly stateDir: string;
  /** The pid file goes here (SLIPWAY_RUN). */
  readonly runDir: string;
  readonly port: number;
  readonly bindAddress: string;
  /** The AuthorizedKeysCommand line (absolute program path, then arguments; %f = fingerprint). */
  readonly authorizedKeysCommand: string;
  readonly logger: Logger;
}

/** File locations of Slipway's sshd. */
export function sshdPaths(
  stateDir: string,
  runDir: string,
): {
  config: string;
  hostKey: string;
  pidFile: string;
  log: string;
} {
  return {
    config: join(stateDir, "sshd_config"),
    hostKey: join(stateDir, "ssh_host_ed25519_key"),
    pidFile: join(runDir, "sshd.pid"),
    log: join(stateDir, "sshd.log"),
  };
}

/**
 * The whole sshd_config: public-key login for the platform's own user only, keys only from
 * Slipway (AuthorizedKeysCommand, which forces the git shell with "restrict" on every key),
 * no passwords, no forwarding of any kind, no tty, no subsystems, no user rc or environment.
 * Pure, for tests.
 */
export function renderSshdConfig(options: {
  port: number;
  bindAddress: string;
  hostKey: string;
  pidFile: string;
  user: string;
  authorizedKeysCommand: string;
}): string {
  return [
    "# Written by Slipway; changes are overwritten.",
    `Port ${String(options.port)}`,
    `ListenAddress ${options.bindAddress}`,
    `HostKey ${options.hostKey}`,
    `PidFile ${options.pidFile}`,
    `AllowUsers ${options.user}`,
    options.user === "root" ? "PermitRootLogin forced-commands-only" : "PermitRootLogin no",
    "AuthenticationMethods publickey",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "HostbasedAuthentication no",
    "UsePAM no",
    "AuthorizedKeysFile none",
    `AuthorizedKeysCommand ${options.authorizedKeysCommand}`,
    `AuthorizedKeysCommandUser ${options.user}`,
    "DisableForwarding yes",
    "AllowTcpForwarding no",
    "AllowAgentForwarding no",
    "AllowStreamLocalForwarding no",
    "X11Forwarding no",
    "PermitTunnel no",
    "PermitTTY no",
    "PermitUserEnvironment no",
    "PermitUserRC no",
    "PrintMotd no",
    "PrintLastLog no",
    "MaxAuthTries 6",
    "MaxSessions 4",
    "LoginGraceTime 30",
    "ClientAliveInterval 30",
    "LogLevel VERBOSE",
    "",
  ].join("\n");
}

/**
 * Starts Slipway's own sshd, detached like the router so a daemon restart does not cut
 * pushes: writes its config and host key, then either adopts the running instance (and
 * has it reload the config with SIGHUP) or starts a new one, which daemonizes itself.
 */
export async function startSshd(options: SshdOptions): Promise<void> {
  const paths = sshdPaths(options.stateDir, options.runDir);
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  // sshd refuses to start without its privilege separation directory.
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  try {
    await access(paths.hostKey);
  } catch {
    await run("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "slipway",
      "-f",
      paths.hostKey,
    ]);
  }
  await writeFile(
    paths.config,
    renderSshdConfig({
      port: options.port,
      bindAddress: options.bindAddress,
      hostKey: paths.hostKey,
      pidFile: paths.pidFile,
      user: userInfo().username,
      authorizedKeysCommand: await safeKeysCommand(paths.config, options.authorizedKeysCommand),
    }),
    { mode: 0o600 },
  );
  await run(SSHD_BINARY, ["-t", "-f", paths.config]);
  const running = await ownSshd(paths.pidFile, paths.config);
  if (running !== undefined) {
    process.kill(running, "SIGHUP");
    options.logger.info("sshd adopted", { pid: running, port: options.port });
    return;
  }
  await run(SSHD_BINARY, ["-f", paths.config, "-E", paths.log]);
  options.logger.info("sshd started", { port: options.port });
}

/** Stops Slipway's sshd if it runs (`slipway down`); existing sessions end with it. */
export async function stopSshd(stateDir: string, runDir: string): Promise<void> {
  const paths = sshdPaths(stateDir, runDir);
  const pid = await ownSshd(paths.pidFile, paths.config);
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await rm(paths.pidFile, { force: true });
  await rm(keysCommandDir(paths.config), { recursive: true, force: true });
}

/** Root-owned home of the keys-command wrappers, outside any world-writable directory. */
const SAFE_COMMAND_ROOT = "/run/slipway-sshd";

function keysCommandDir(config: string): string {
  return join(SAFE_COMMAND_ROOT, createHash("sha256").update(config).digest("hex").slice(0, 16));
}

/**
 * sshd runs an AuthorizedKeysCommand only if the program and every directory above it are
 * owned by root and writable by nobody else. Slipway's node binary and sources may live
 * anywhere (a checkout under /tmp fails that check), so sshd gets a small wrapper script in
 * a root-owned directory under /run that execs the real command with the fingerprint.
 */
async function safeKeysCommand(config: string, command: string): Promise<string> {
  const dir = keysCommandDir(config);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(SAFE_COMMAND_ROOT, 0o755);
  await chmod(dir, 0o755);
  const words = command.split(" ").map((word) => (word === "%f" ? '"$1"' : `'${word}'`));
  const wrapper = join(dir, "authorized-keys");
  await writeFile(wrapper, `#!/bin/sh\nexec ${words.join(" ")}\n`, { mode: 0o755 });
  await chmod(wrapper, 0o755);
  return `${wrapper} %f`;
}

/** The pid in pidFile if that process is an sshd started with our config, else undefined. */
async function ownSshd(pidFile: string, config: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, "utf8")).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    // A stale pid file may name an unrelated process now: check it is our sshd. sshd
    // rewrites its title ("sshd: /usr/sbin/sshd -f CONFIG ... [listener] ..."), so the
    // arguments may arrive as one string: split on NULs and spaces alike.
    const cmdline = await readFile(`/proc/${String(pid)}/cmdline`, "utf8");
    return isOwnSshdCommandLine(cmdline, config) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a /proc cmdline is an sshd started with -f config. Pure, for tests. */
export function isOwnSshdCommandLine(cmdline: string, config: string): boolean {
  const words = cmdline.split(/[\0 ]+/);
  const flag = words.indexOf("-f");
  return (
    words.some((w) => w.endsWith("sshd") || w === "sshd:") &&
    flag !== -1 &&
    words[flag + 1] === config
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function run(program: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} exited ${String(code)}: ${stderr.trim()}`));
    });
  });
}

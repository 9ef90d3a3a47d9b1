import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { BuildFailedError, DriverError } from "../domain/errors.ts";
import { runCommand } from "./command.ts";
import type { StackRecipe } from "./stack-recipe.ts";

/** One root filesystem tarball of a stack. */
export interface RootfsTarball {
  readonly file: string;
  /** sha256:HEX of the tarball. */
  readonly digest: string;
  readonly sizeBytes: number;
}

export interface RootfsOptions {
  /** Empty directory on a filesystem that allows devices and exec (debootstrap needs both). */
  readonly workDir: string;
  readonly mirror: string;
  readonly securityMirror: string;
  /** Where debootstrap keeps downloaded .debs between builds (absolute). */
  readonly debCacheDir: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

// Noise that debootstrap and dpkg print per package: hundreds of lines per stack.
const CHATTY =
  /^(I: (Retrieving|Validating|Extracting|Unpacking|Configuring) |Get:\d+ |Selecting previously|Preparing to unpack|Unpacking |\(Reading database|Setting up |Processing triggers|debconf: |update-alternatives: )/;

const SLIM_DPKG = `# Written by the Slipway stack builder: containers need no docs, man pages or locales.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
`;

// Never part of an image: virtual filesystems, caches, logs, the builder's own resolv.conf.
const TAR_EXCLUDES = [
  "./proc/*",
  "./sys/*",
  "./dev/*",
  "./run/*",
  "./tmp/*",
  "./var/tmp/*",
  "./var/lib/apt/lists/*",
  "./var/cache/apt/*",
  "./var/cache/debconf/*-old",
  "./var/log/*",
  "./usr/sbin/policy-rc.d",
];

/**
 * Debootstraps the recipe's suite once, then produces the run tarball and, on top of the same
 * tree, the build tarball. Needs root (debootstrap, chroot, mount).
 */
export async function buildStackRootfs(
  recipe: StackRecipe,
  options: RootfsOptions,
): Promise<{ run: RootfsTarball; build: RootfsTarball }> {
  if (process.getuid?.() !== 0) {
    throw new BuildFailedError("building a stack needs root (debootstrap, chroot)");
  }
  const root = join(options.workDir, "rootfs");
  const { log, signal } = options;
  const run = (cmd: string, args: readonly string[], input?: string): Promise<void> =>
    runCommand(cmd, args, {
      log: (line) => {
        log(`  ${line}`);
      },
      filter: (line) => !CHATTY.test(line),
      env: { DEBIAN_FRONTEND: "noninteractive", LANG: "C.UTF-8" },
      ...(input === undefined ? {} : { input }),
      ...(signal ? { signal } : {}),
    });
  const chroot = (args: readonly string[], input?: string): Promise<void> =>
    run("chroot", [root, ...args], input);
  const aptGet = (args: readonly string[]): Promise<void> =>
    chroot(["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0", ...args]);

  await mkdir(options.debCacheDir, { recursive: true });
  log(`debootstrap ${recipe.suite} (${recipe.variant}) from ${options.mirror}`);
  await run("debootstrap", [
    `--variant=${recipe.variant}`,
    `--components=${recipe.components.join(",")}`,
    `--cache-dir=${options.debCacheDir}`,
    recipe.suite,
    root,
    options.mirror,
  ]);
  await prepareChroot(root, recipe, options);
  await run("mount", ["-t", "proc", "proc", join(root, "proc")]);
  try {
    log("applying updates from the security and updates suites");
    await aptGet(["update"]);
    await aptGet(["upgrade"]);
    await checkNoSecurityUpdates(root, signal);
    log(`installing run packages: ${recipe.runPackages.join(" ")}`);
    await aptGet(["install", "--no-install-recommends", ...recipe.runPackages]);
    if (recipe.setupScript !== null) {
      log("running setup.sh");
      await chroot(["/bin/bash", "-s"], recipe.setupScript);
    }
    await aptGet(["clean"]);
    log("writing the run root filesystem");
    const runTar = await tarRootfs(root, join(options.workDir, "run.tar"), signal);
    log(`installing build packages: ${recipe.buildPackages.join(" ")}`);
    await aptGet(["install", "--no-install-recommends", ...recipe.buildPackages]);
    await aptGet(["clean"]);
    log("writing the build root filesystem");
    const buildTar = await tarRootfs(root, join(options.workDir, "build.tar"), signal);
    return { run: runTar, build: buildTar };
  } finally {
    await runCommand("umount", ["-l", join(root, "proc")], { log });
    await assertNothingMounted(root);
    await rm(root, { recursive: true, force: true });
  }
}

/** Refuses to go on (and so to rm -r) while anything is mounted below dir. */
export async function assertNothingMounted(dir: string): Promise<void> {
  const mounts = (await readFile("/proc/self/mounts", "utf8"))
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((target) => target === dir || target.startsWith(`${dir}/`));
  if (mounts.length > 0) {
    throw new DriverError("stack", `still mounted below ${dir}: ${mounts.join(", ")}`);
  }
}

async function prepareChroot(
  root: string,
  recipe: StackRecipe,
  options: RootfsOptions,
): Promise<void> {
  const components = recipe.components.join(" ");
  const mirror = options.mirror.replace(/\/$/, "");
  const security = options.securityMirror.replace(/\/$/, "");
  await writeFile(
    join(root, "etc/apt/sources.list"),
    [
      `deb ${mirror} ${recipe.suite} ${components}`,
      `deb ${mirror} ${recipe.suite}-updates ${components}`,
      `deb ${security} ${recipe.suite}-security ${components}`,
      "",
    ].join("\n"),
  );
  await writeFile(join(root, "etc/dpkg/dpkg.cfg.d/01-slipway-slim"), SLIM_DPKG);
  await writeFile(
    join(root, "etc/apt/apt.conf.d/01-slipway"),
    'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n',
  );
  // Package scripts must not start services in the chroot (excluded from the images).
  await writeFile(join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  // Name resolution for apt inside the chroot; emptied again before each tarball.
  await copyFile("/etc/resolv.conf", join(root, "etc/resolv.conf"));
  // debootstrap copies the host's name; containers get their own at run time.
  await writeFile(join(root, "etc/hostname"), "localhost\n");
}

/** The stack promise: no image ships while Debian-Security has an update for it. */
async function checkNoSecurityUpdates(
  root: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const pending: string[] = [];
  await runCommand("chroot", [root, "apt-get", "-s", "upgrade"], {
    log: (line) => {
      if (line.startsWith("Inst ") && /security/i.test(line)) pending.push(line);
    },
    ...(signal ? { signal } : {}),
  });
  if (pending.length > 0) {
    throw new BuildFailedError(
      `security updates still pending after upgrade: ${pending.join("; ")}`,
    );
  }
}

async function tarRootfs(
  root: string,
  file: string,
  signal: AbortSignal | undefined,
): Promise<RootfsTarball> {
  await writeFile(join(root, "etc/resolv.conf"), "");
  const excludes = TAR_EXCLUDES.map((pattern) => `--exclude=${pattern}`);
  await runCommand(
    "tar",
    [
      "--create",
      "--file",
      file,
      "--numeric-owner",
      "--one-file-system",
      "--directory",
      root,
      ...excludes,
      ".",
    ],
    { log: () => undefined, ...(signal ? { signal } : {}) },
  );
  await copyFile("/etc/resolv.conf", join(root, "etc/resolv.conf"));
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return {
    file,
    digest: `sha256:${hash.digest("hex")}`,
    sizeBytes: (await stat(file)).size,
  };
}

import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { packTar, tarDirectory, tarFile, tarSymlink, type TarFile } from "../tar-files.ts";

/** The busybox applets the tests call, as symlinks in /bin. */
const APPLETS = [
  "sh",
  "sleep",
  "cat",
  "echo",
  "nc",
  "httpd",
  "ls",
  "touch",
  "id",
  "mkdir",
  "printf",
  "grep",
  "cp",
  "chmod",
  "nslookup",
];

/**
 * A tiny root filesystem from the host's static busybox (Debian: busybox-static), for
 * engine tests that must not depend on network access: /bin/busybox with the applets
 * above, the directories a container expects, /srv and /data for the tests' files.
 */
export async function busyboxRootfs(busybox = "/bin/busybox"): Promise<Readable> {
  const files: TarFile[] = [
    ...["bin", "dev", "etc", "proc", "sys", "run", "srv", "data", "var"].map((d) =>
      tarDirectory(d),
    ),
    tarDirectory("tmp", 0o1777),
    tarDirectory("var/tmp", 0o1777),
    tarFile("bin/busybox", await readFile(busybox), 0o755),
    ...APPLETS.map((applet) => tarSymlink(`bin/${applet}`, "busybox")),
    tarFile("etc/passwd", "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
    tarFile("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
  ];
  return packTar(files);
}

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ensureSharedNetnsDir, isSharedMountPoint } from "./netns-propagation.ts";

const ROOT = "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw";
const NSFS = "87 26 0:4 net:[4026532182] /run/netns/netns-1 rw - nsfs nsfs rw";
const PRIVATE_BIND = "90 26 254:0 /run/netns /run/netns rw,relatime - ext4 /dev/vda rw";
const SHARED_BIND = "91 26 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw";

describe("isSharedMountPoint", () => {
  it("reads the propagation of the last mount on the path", () => {
    assert.equal(isSharedMountPoint([ROOT, NSFS].join("\n"), "/run/netns"), false, "no mount");
    assert.equal(isSharedMountPoint([ROOT, PRIVATE_BIND].join("\n"), "/run/netns"), false);
    assert.equal(isSharedMountPoint([ROOT, SHARED_BIND].join("\n"), "/run/netns"), true);
    assert.equal(
      isSharedMountPoint([ROOT, SHARED_BIND, PRIVATE_BIND].join("\n"), "/run/netns"),
      false,
      "a private mount on top is what lookups see",
    );
  });
});

describe("ensureSharedNetnsDir", () => {
  function host(lines: string[]) {
    const mounts: string[][] = [];
    return {
      mounts,
      deps: {
        readMountinfo: () => Promise.resolve(lines.join("\n")),
        mount: (args: readonly string[]) => {
          mounts.push([...args]);
          if (args[0] === "--rbind") lines.push(PRIVATE_BIND);
          if (args[0] === "--make-rshared") lines.push(SHARED_BIND);
          return Promise.resolve();
        },
        mkdir: () => Promise.resolve(),
      },
    };
  }

  it("binds the directory onto itself with what is below it, then makes it shared", async () => {
    const { mounts, deps } = host([ROOT, NSFS]);
    assert.equal(await ensureSharedNetnsDir(deps), true);
    assert.deepEqual(mounts, [
      ["--rbind", "/run/netns", "/run/netns"],
      ["--make-rshared", "/run/netns"],
    ]);
    // Once is enough: a second call (the next `slipway up`) changes nothing.
    assert.equal(await ensureSharedNetnsDir(deps), false);
    assert.equal(mounts.length, 2);
  });

  it("only marks a mount point that is there already", async () => {
    const { mounts, deps } = host([ROOT, PRIVATE_BIND]);
    assert.equal(await ensureSharedNetnsDir(deps), true);
    assert.deepEqual(mounts, [["--make-rshared", "/run/netns"]]);
  });

  it("says what failed", async () => {
    const { deps } = host([ROOT]);
    await assert.rejects(
      ensureSharedNetnsDir({
        ...deps,
        mount: () => Promise.reject(new Error("permission denied")),
      }),
      /cannot make \/run\/netns a shared mount point: permission denied/,
    );
  });
});

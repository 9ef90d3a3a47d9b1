import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { shmUnsuitable, type TmpdirFacts } from "../../scripts/test-tmpdir.ts";

const GiB = 1024 ** 3;
const good: TmpdirFacts = {
  callerTmpdir: undefined,
  shm: { type: 0x01021994, freeBytes: 24 * GiB },
  kernel: "6.18.44-fc-v1045",
  shmOptions: ["rw", "relatime"],
};

describe("npm test's temporary directory", () => {
  it("goes to /dev/shm on a tmpfs with room, on a kernel that idmaps tmpfs", () => {
    assert.equal(shmUnsuitable(good), undefined);
    assert.equal(shmUnsuitable({ ...good, kernel: "6.3.0" }), undefined);
    assert.equal(shmUnsuitable({ ...good, callerTmpdir: "" }), undefined);
  });

  it("stays on the disk otherwise, and says why", () => {
    assert.equal(shmUnsuitable({ ...good, callerTmpdir: "/scratch" }), "TMPDIR is set");
    assert.equal(shmUnsuitable({ ...good, shm: undefined }), "no /dev/shm");
    assert.equal(
      shmUnsuitable({ ...good, shm: { type: 0xef53, freeBytes: 24 * GiB } }),
      "/dev/shm is not a tmpfs",
    );
    assert.equal(
      shmUnsuitable({ ...good, shm: { type: 0x01021994, freeBytes: 8 * GiB } }),
      "/dev/shm has less than 12 GiB free",
    );
    // Debian 12's own kernel: tmpfs cannot be idmapped, Podman would copy every layer.
    assert.equal(
      shmUnsuitable({ ...good, kernel: "6.1.0-28-amd64" }),
      "the kernel cannot idmap tmpfs (6.3+)",
    );
    assert.equal(
      shmUnsuitable({ ...good, kernel: "5.10.0" }),
      "the kernel cannot idmap tmpfs (6.3+)",
    );
    assert.equal(shmUnsuitable({ ...good, shmOptions: ["ro"] }), "/dev/shm is read-only");
  });
});

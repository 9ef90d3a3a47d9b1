import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  podmanEnv,
  podmanLayout,
  renderContainersConf,
  renderStorageConf,
} from "./podman-config.ts";

describe("podman configuration", () => {
  const layout = podmanLayout("/var/lib/slipway/engine", "/run/slipway");

  it("keeps state under the state directory and runtime files under the run directory", () => {
    assert.equal(layout.graphRoot, "/var/lib/slipway/engine/storage");
    assert.equal(layout.networkConfigDir, "/var/lib/slipway/engine/networks");
    assert.equal(layout.runRoot, "/run/slipway/podman");
    assert.equal(layout.tmpDir, "/run/slipway/podman-tmp");
    assert.equal(layout.socketPath, "/run/slipway/podman.sock");
    assert.equal(layout.pidFile, "/run/slipway/podman.pid");
  });

  it("renders containers.conf with runc, cgroupfs, file events and explicit ulimits", () => {
    const conf = renderContainersConf(layout, "runc");
    for (const line of [
      'default_ulimits = ["nofile=1024:1024", "nproc=512:512"]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'events_logfile_max_size = "4m"',
      "no_new_privileges = true",
      "default_capabilities = []",
      'tmp_dir = "/run/slipway/podman-tmp"',
      'network_backend = "netavark"',
      'network_config_dir = "/var/lib/slipway/engine/networks"',
    ]) {
      assert.ok(conf.split("\n").includes(line), line);
    }
    assert.match(conf, /^seccomp_profile = ".*\/src\/engine\/seccomp\/slipway\.json"$/m);
  });

  it("keeps the lines Podman needs", () => {
    const conf = renderContainersConf(layout, "runc");
    for (const line of ['runtime = "runc"']) {
      assert.ok(conf.split("\n").includes(line), line);
    }
  });

  it("renders storage.conf and quotes paths as TOML strings", () => {
    const odd = podmanLayout('/srv/a "quoted" dir', "/run/x");
    assert.match(renderStorageConf(odd), /^graphroot = "\/srv\/a \\"quoted\\" dir\/storage"$/m);
    assert.match(renderStorageConf(layout), /^runroot = "\/run\/slipway\/podman"$/m);
  });

  it("points the CLI at the same files", () => {
    assert.deepEqual(podmanEnv(layout), {
      CONTAINERS_CONF: "/var/lib/slipway/engine/containers.conf",
      CONTAINERS_STORAGE_CONF: "/var/lib/slipway/engine/storage.conf",
    });
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isOwnSshdCommandLine, renderSshdConfig } from "./sshd.ts";

describe("renderSshdConfig", () => {
  const config = renderSshdConfig({
    port: 2222,
    bindAddress: "127.0.0.1",
    hostKey: "/h/ssh/key",
    pidFile: "/r/sshd.pid",
    user: "root",
    authorizedKeysCommand: "/node /keys.ts /r/git-hook.sock %f",
  });

  it("allows keys only from Slipway, for the platform's user, forced commands only", () => {
    for (const line of [
      "Port 2222",
      "ListenAddress 127.0.0.1",
      "AuthorizedKeysFile none",
      "AuthorizedKeysCommand /node /keys.ts /r/git-hook.sock %f",
      "AllowUsers root",
      "PermitRootLogin forced-commands-only",
      "PasswordAuthentication no",
      "DisableForwarding yes",
      "PermitTTY no",
      "PermitUserRC no",
    ]) {
      assert.ok(config.split("\n").includes(line), line);
    }
    assert.doesNotMatch(config, /Subsystem/);
  });
});

describe("isOwnSshdCommandLine", () => {
  it("recognises sshd by its config, with a rewritten title or plain argv", () => {
    const title = "sshd: /usr/sbin/sshd -f /h/ssh/sshd_config -E /h/ssh/log [listener] 0 of 10";
    assert.ok(isOwnSshdCommandLine(title, "/h/ssh/sshd_config"));
    assert.ok(
      isOwnSshdCommandLine("/usr/sbin/sshd\0-f\0/h/ssh/sshd_config\0", "/h/ssh/sshd_config"),
    );
    assert.equal(isOwnSshdCommandLine(title, "/other/sshd_config"), false);
    assert.equal(isOwnSshdCommandLine("vim\0-f\0/h/ssh/sshd_config", "/h/ssh/sshd_config"), false);
  });
});

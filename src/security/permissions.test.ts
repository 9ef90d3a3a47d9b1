import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isAdmin, mayOnApp, principalOf, refusal } from "./permissions.ts";

const token = (scopes: string[], apps: string[] = []) => ({ id: "tok_1", name: "t", scopes, apps });

describe("permissions", () => {
  it("lets admins do everything", () => {
    const admin = principalOf(token(["admin"]));
    assert.ok(isAdmin(admin));
    assert.ok(mayOnApp(admin, "app_1", "deploy"));
    assert.ok(mayOnApp(admin, "app_2", "read"));
  });

  it("limits a deploy token to its apps", () => {
    const deploy = principalOf(token(["deploy"], ["app_1"]));
    assert.equal(deploy.role, "deploy");
    assert.ok(!isAdmin(deploy));
    assert.ok(mayOnApp(deploy, "app_1", "deploy"));
    assert.ok(mayOnApp(deploy, "app_1", "read"));
    assert.ok(!mayOnApp(deploy, "app_2", "read"));
    assert.ok(!mayOnApp(principalOf(token(["deploy"])), "app_1", "read"), "no apps: nothing");
    assert.match(refusal(deploy, 'push to app "x"'), /deploy token limited to its apps/);
  });

  it("gives an unknown role nothing, and admin wins over deploy", () => {
    const odd = principalOf(token(["read"], ["app_1"]));
    assert.equal(odd.role, null);
    assert.ok(!mayOnApp(odd, "app_1", "read"));
    assert.equal(principalOf(token(["deploy", "admin"])).role, "admin");
  });
});

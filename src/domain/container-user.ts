/**
 * True when a container user ("USER" in a Dockerfile, Config.User of an image or a
 * container) means root: empty (the engines' default), `root`, uid 0 (with or without a
 * group), or a variable Slipway cannot resolve (it could be anything). Pure.
 */
export function isRootUser(user: string): boolean {
  const name = user.trim().split(":")[0] ?? "";
  return name === "" || name === "root" || /^0+$/.test(name) || name.includes("$");
}

import { APP_UID } from "./app-rootfs.ts";

/**
 * How the slug's entries become image layer entries, for every path that makes an app
 * layer (app-image-layers.ts, source-layer.ts): fixed times and owners, so identical
 * content makes identical layers whatever the build.
 */

/** The time every layer entry gets. */
export const EPOCH = new Date(0);
/** The owner every layer entry gets: the app user. */
export const OWNER = { uid: APP_UID, gid: APP_UID, uname: "app", gname: "app" } as const;
/** Entry types a layer keeps (devices, fifos and the like are dropped). */
export const KEPT_TYPES: ReadonlySet<string> = new Set(["file", "directory", "symlink", "link"]);

/** "slug/x/y" -> "x/y", "slug" -> ""; null outside the root directory. */
export function below(name: string, root: string): string | null {
  const clean = name.replace(/^\.\//, "").replace(/\/+$/, "");
  if (clean === root) return "";
  return clean.startsWith(`${root}/`) ? clean.slice(root.length + 1) : null;
}

/** Whether a path below /app is Slipway's own (/app/.slipway): never taken from a slug. */
export function isPlatformOwn(rel: string): boolean {
  return rel.startsWith(".slipway");
}

/** ".slipway/processes/web" -> [".slipway", ".slipway/processes"] */
export function parentDirs(path: string): string[] {
  const parts = path.split("/").slice(0, -1);
  return parts.map((_, index) => parts.slice(0, index + 1).join("/"));
}

import type { Formation } from "./formation.ts";
import { ValidationError } from "./errors.ts";
import type { Release } from "./release.ts";
import { sizeByName } from "./sizes.ts";

/** One requested change of `slipway scale`: a quantity, a size, or both. */
export interface ScaleChange {
  readonly type: string;
  readonly quantity?: number;
  readonly size?: string;
}

const TYPE = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * Parses `web=3:M`, `worker=1`, `web:L` (size only) into changes. Throws ValidationError
 * naming the bad argument; quantities are checked later against the app's limit.
 */
export function parseScaleArgs(args: readonly string[]): ScaleChange[] {
  if (args.length === 0) throw new ValidationError("say what to scale, e.g. web=2 or web=3:M");
  return args.map((arg) => {
    const match = /^([^=:]+)(?:=([^:]*))?(?::(.+))?$/.exec(arg);
    const type = match?.[1];
    const quantity = match?.[2];
    const size = match?.[3];
    if (match === null || type === undefined || (quantity === undefined && size === undefined)) {
      throw new ValidationError(`cannot read "${arg}": use TYPE=QUANTITY[:SIZE] or TYPE:SIZE`);
    }
    if (quantity !== undefined && !/^-?\d+$/.test(quantity)) {
      throw new ValidationError(`quantity in "${arg}" must be a whole number`);
    }
    return {
      type,
      ...(quantity === undefined ? {} : { quantity: Number(quantity) }),
      ...(size === undefined ? {} : { size }),
    };
  });
}

/**
 * Checks changes against the current release and the app's limit and returns the new
 * formation rows. Bad input (unknown process type or size, a negative quantity, one above
 * maxQuantity, a type named twice) is refused as a whole with every problem listed.
 */
export function applyScale(
  appId: string,
  release: Release | undefined,
  current: readonly Formation[],
  changes: readonly ScaleChange[],
  maxQuantity: number,
): Formation[] {
  if (release === undefined) {
    throw new ValidationError("the app has no release yet: deploy it before scaling");
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const rows: Formation[] = [];
  const known = Object.keys(release.processTypes).sort();
  for (const change of changes) {
    if (!TYPE.test(change.type) || !Object.hasOwn(release.processTypes, change.type)) {
      problems.push(
        `unknown process type "${change.type}": v${String(release.version)} defines ${known.join(", ") || "none"}`,
      );
      continue;
    }
    if (seen.has(change.type)) {
      problems.push(`process type "${change.type}" is given more than once`);
      continue;
    }
    seen.add(change.type);
    const q = change.quantity;
    if (q !== undefined && (!Number.isInteger(q) || q < 0 || q > maxQuantity)) {
      problems.push(
        `quantity of ${change.type} must be a whole number from 0 to ${String(maxQuantity)} (got ${String(q)})`,
      );
      continue;
    }
    let size: string | undefined;
    if (change.size !== undefined) {
      try {
        size = sizeByName(change.size).name;
      } catch (error) {
        problems.push((error as Error).message);
        continue;
      }
    }
    const before = current.find((f) => f.type === change.type);
    rows.push({
      appId,
      type: change.type,
      quantity: q ?? before?.quantity ?? 1,
      size: size ?? before?.size ?? "S",
    });
  }
  if (problems.length > 0) throw new ValidationError(problems.join("; "));
  return rows;
}

import { ForbiddenError, ValidationError } from "../../domain/errors.ts";
import { LABEL } from "../../domain/labels.ts";

/**
 * Ownership by label (habit 6: label everything, never mutate what you did not label).
 * Every object the driver creates carries `io.slipway.instance=<instance>`; lists filter
 * on it; mutations check it first and refuse with ForbiddenError otherwise.
 */
export type Labels = Readonly<Record<string, string>>;

/** The caller's labels plus the instance label, which the caller cannot override. */
export function withInstanceLabel(instance: string, labels: Labels = {}): Record<string, string> {
  for (const key of Object.keys(labels)) {
    if (key === "" || /[\s="]/.test(key)) {
      throw new ValidationError(
        `label key "${key}" must not be empty or contain spaces, "=" or quotes`,
      );
    }
  }
  return { ...labels, [LABEL.instance]: instance };
}

/** The engine's `filters` query value selecting objects with all these labels. */
export function labelFilters(instance: string, labels: Labels = {}): string {
  const all = withInstanceLabel(instance, labels);
  return JSON.stringify({ label: Object.entries(all).map(([key, value]) => `${key}=${value}`) });
}

/** True when the labels say this instance made the object. */
export function isOwned(instance: string, labels: Labels): boolean {
  return labels[LABEL.instance] === instance;
}

/** True when the object carries every label asked for (list filters, double-checked). */
export function hasLabels(labels: Labels, wanted: Labels): boolean {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

/** Throws ForbiddenError unless the labels say this instance made the object. */
export function assertOwned(instance: string, kind: string, name: string, labels: Labels): void {
  if (!isOwned(instance, labels)) {
    throw new ForbiddenError(
      `${kind} "${name}" was not created by this Slipway instance (${LABEL.instance}=${instance}); refusing to change it`,
    );
  }
}

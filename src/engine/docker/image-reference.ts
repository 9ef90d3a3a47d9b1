import { ValidationError } from "../../domain/errors.ts";

/**
 * Image references ("slipway/stack-run:24.1"). Pure.
 */
export interface RepositoryTag {
  readonly repository: string;
  readonly tag: string;
}

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REFERENCE = new RegExp(
  `^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$`,
);

/** Splits a reference into repository and tag (default "latest"). Throws ValidationError. */
export function splitReference(reference: string): RepositoryTag {
  if (!REFERENCE.test(reference)) {
    throw new ValidationError(
      `"${reference}" is not an image reference like slipway/stack-run:24.1`,
    );
  }
  const slash = reference.lastIndexOf("/");
  const colon = reference.lastIndexOf(":");
  // A colon before the last slash belongs to a registry port, not to a tag.
  if (colon > slash)
    return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repository: reference, tag: "latest" };
}

/**
 * The short form of a tag as Docker prints it. Podman's compat API qualifies short names
 * with docker.io (and docker.io/library) the way the Docker daemon does internally; the
 * port speaks short names, as given to importImage and commitContainer.
 */
export function shortTag(tag: string): string {
  if (tag.startsWith("docker.io/library/")) return tag.slice("docker.io/library/".length);
  if (tag.startsWith("docker.io/")) return tag.slice("docker.io/".length);
  return tag;
}

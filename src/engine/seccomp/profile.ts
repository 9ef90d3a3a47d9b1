import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SeccompProfile } from "./strict-profile.ts";

/** Where the shipped profile lives (the Podman service can read it by path too). */
export const SECCOMP_PROFILE_PATH = join(import.meta.dirname, "slipway.json");

/** The shipped profile (src/engine/seccomp/slipway.json), parsed once. */
export const SECCOMP_PROFILE: SeccompProfile = JSON.parse(
  readFileSync(SECCOMP_PROFILE_PATH, "utf8"),
) as SeccompProfile;

/**
 * The profile as one line of JSON: the value of `SecurityOpt: ["seccomp=<json>"]`, which
 * is how the Docker API takes a profile (the docker CLI reads the file and sends its text).
 */
export const SECCOMP_PROFILE_JSON = JSON.stringify(SECCOMP_PROFILE);

import { isRootUser } from "../domain/container-user.ts";

/**
 * Who each RUN step of a Dockerfile runs as. Slipway builds Dockerfiles with the engine's
 * builder, whose steps (on Podman 4.3 without idmapped layers) cannot run in a user
 * namespace: a step running as root would be root on the host (with the engine's default
 * capabilities, no network, the seccomp profile). So RUN steps must run as a non-root user,
 * set with USER or by the base image (Slipway's run stack: uid 1000), and a Dockerfile
 * with a root step is refused before anything runs. Pure.
 */

/** A RUN step and what decides its user. */
export interface RunStep {
  /** 1-based line of the RUN instruction. */
  readonly line: number;
  /** The base image of its stage (stage names followed back to an image). */
  readonly baseImage: string;
  /** The last USER before it in its stage chain; null: the base image's user. */
  readonly user: string | null;
}

interface Stage {
  readonly baseImage: string;
  readonly user: string | null;
}

/** The RUN steps of a Dockerfile with their base image and USER. */
export function runSteps(text: string): RunStep[] {
  const steps: RunStep[] = [];
  const stages = new Map<string, Stage>();
  let current: { baseImage: string; user: string | null } | undefined;
  let name: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const start = index;
    let raw = lines[index] ?? "";
    // Line continuations: the instruction is on its first line.
    while (/\\\s*$/.test(raw) && index + 1 < lines.length) {
      raw = raw.replace(/\\\s*$/, " ") + (lines[++index] ?? "");
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(raw);
    if (match === null || raw.trimStart().startsWith("#")) continue;
    const instruction = (match[1] ?? "").toUpperCase();
    const rest = (match[2] ?? "").trim();
    if (instruction === "FROM") {
      if (current !== undefined && name !== undefined) stages.set(name, current);
      const words = rest.split(/\s+/).filter((w) => !w.startsWith("--"));
      const ref = words[0] ?? "";
      name = words[1]?.toLowerCase() === "as" ? words[2]?.toLowerCase() : undefined;
      const parent = stages.get(ref.toLowerCase());
      current = parent === undefined ? { baseImage: ref, user: null } : { ...parent };
    } else if (instruction === "USER" && current !== undefined) {
      current.user = rest;
    } else if (instruction === "RUN" && current !== undefined) {
      steps.push({ line: start + 1, baseImage: current.baseImage, user: current.user });
    }
  }
  return steps;
}

/**
 * The lines of RUN steps that would run as root, given each base image's default user
 * (undefined when the engine does not know the image: the build then fails on its own).
 */
export function rootRunLines(
  steps: readonly RunStep[],
  imageUser: (image: string) => string | undefined,
): number[] {
  return steps
    .filter((step) => {
      const user = step.user ?? imageUser(step.baseImage);
      return user !== undefined && isRootUser(user);
    })
    .map((step) => step.line);
}

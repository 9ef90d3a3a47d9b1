import { ValidationError } from "./errors.ts";

/** A container size: what `slipway scale web=2:M` asks for. */
export interface ContainerSize {
  readonly name: string;
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly pids: number;
  readonly tmpBytes: number;
}

const MiB = 1024 * 1024;

/** The sizes on offer, smallest first. CPU and pids grow with memory. */
export const SIZES: readonly ContainerSize[] = [
  { name: "S", memoryBytes: 256 * MiB, cpus: 0.5, pids: 256, tmpBytes: 64 * MiB },
  { name: "M", memoryBytes: 512 * MiB, cpus: 1, pids: 512, tmpBytes: 128 * MiB },
  { name: "L", memoryBytes: 1024 * MiB, cpus: 1, pids: 1024, tmpBytes: 256 * MiB },
  { name: "XL", memoryBytes: 2048 * MiB, cpus: 2, pids: 2048, tmpBytes: 512 * MiB },
  { name: "2XL", memoryBytes: 4096 * MiB, cpus: 2, pids: 4096, tmpBytes: 1024 * MiB },
];

/** Looks a size up by name (case-insensitive); throws ValidationError for unknown ones. */
export function sizeByName(name: string): ContainerSize {
  const size = SIZES.find((s) => s.name === name.toUpperCase());
  if (size === undefined) {
    throw new ValidationError(
      `unknown container size "${name}": use one of ${SIZES.map((s) => s.name).join(", ")}`,
    );
  }
  return size;
}

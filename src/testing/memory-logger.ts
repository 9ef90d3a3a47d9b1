import type { Logger } from "../domain/logger.ts";

/** A logger that collects its lines (warnings and errors prefixed) for tests to assert on. */
export function memoryLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => lines.push(message),
    warn: (message) => lines.push(`warn: ${message}`),
    error: (message) => lines.push(`error: ${message}`),
  };
}

import type { Logger } from "../domain/logger.ts";

/** JSON-lines logger (one object per line) to a writable such as the daemon's stdout. */
export function jsonLogger(
  write: (line: string) => void,
  base: Readonly<Record<string, unknown>> = {},
): Logger {
  const emit = (
    level: string,
    message: string,
    fields?: Readonly<Record<string, unknown>>,
  ): void => {
    write(
      `${JSON.stringify({ time: new Date().toISOString(), level, message, ...base, ...fields }, replacer)}\n`,
    );
  };
  return {
    info: (message, fields) => {
      emit("info", message, fields);
    },
    warn: (message, fields) => {
      emit("warn", message, fields);
    },
    error: (message, fields) => {
      emit("error", message, fields);
    },
  };
}

/** Errors serialize to their message, code and cause chain instead of `{}`. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, cause: value.cause };
  }
  return value;
}

// Extended SQLite result codes (https://www.sqlite.org/rescode.html).
const CONSTRAINT_CODES = {
  "foreign key": 787,
  "primary key": 1555,
  unique: 2067,
} as const;

/** A kind of constraint violation the store turns into a domain error. */
export type ConstraintKind = keyof typeof CONSTRAINT_CODES;

/** Whether error is node:sqlite reporting a violation of this kind of constraint. */
export function isConstraintError(error: unknown, kind: ConstraintKind): boolean {
  return (
    error instanceof Error &&
    "errcode" in error &&
    typeof error.errcode === "number" &&
    error.errcode === CONSTRAINT_CODES[kind]
  );
}

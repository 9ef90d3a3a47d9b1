/**
 * Typed errors. Every error that crosses a boundary is one of these (or wraps one in
 * `cause`); the API maps them to HTTP status codes in exactly one place
 * (src/api/problem.ts), the CLI prints their message.
 */
export class SlipwayError extends Error {
  /** Stable machine-readable code, e.g. "app_not_found". */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input that does not satisfy a rule (400/422). */
export class ValidationError extends SlipwayError {
  readonly details: readonly string[];
  constructor(message: string, details: readonly string[] = [], options?: ErrorOptions) {
    super("invalid_input", message, options);
    this.details = details;
  }
}

/** A named thing does not exist (404). */
export class NotFoundError extends SlipwayError {
  constructor(kind: string, name: string, options?: ErrorOptions) {
    super(`${kind}_not_found`, `${kind} "${name}" does not exist`, options);
  }
}

/** The thing already exists or the request conflicts with current state (409). */
export class ConflictError extends SlipwayError {
  constructor(message: string, options?: ErrorOptions) {
    super("conflict", message, options);
  }
}

/** Missing or bad credentials (401). */
export class UnauthorizedError extends SlipwayError {
  constructor(message = "missing or invalid credentials", options?: ErrorOptions) {
    super("unauthorized", message, options);
  }
}

/** Credentials are fine but not allowed to do this (403). */
export class ForbiddenError extends SlipwayError {
  constructor(message = "not allowed", options?: ErrorOptions) {
    super("forbidden", message, options);
  }
}

/** The request body is larger than allowed (413). */
export class PayloadTooLargeError extends SlipwayError {
  constructor(limitBytes: number, options?: ErrorOptions) {
    super("payload_too_large", `upload exceeds the limit of ${limitBytes} bytes`, options);
  }
}

/** A build failed; the message says why (the log has the details). */
export class BuildFailedError extends SlipwayError {
  constructor(message: string, options?: ErrorOptions) {
    super("build_failed", message, options);
  }
}

/** A driver (engine, router, builder) failed talking to its component (502). */
export class DriverError extends SlipwayError {
  constructor(component: string, message: string, options?: ErrorOptions) {
    super(`${component}_error`, `${component}: ${message}`, options);
  }
}

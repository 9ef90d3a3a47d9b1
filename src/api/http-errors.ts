import { SlipwayError } from "../domain/errors.ts";

/*
 * Errors that only exist at the HTTP boundary. Domain code never throws these; they map to
 * a status in src/api/problem.ts like every other SlipwayError.
 */

/** The request cannot be parsed at all: malformed JSON, a bad header (400). */
export class MalformedRequestError extends SlipwayError {
  constructor(message: string, options?: ErrorOptions) {
    super("malformed_request", message, options);
  }
}

/** The body is in a format this endpoint does not accept (415). */
export class UnsupportedMediaTypeError extends SlipwayError {
  readonly accepted: readonly string[];
  constructor(received: string | undefined, accepted: readonly string[], options?: ErrorOptions) {
    super(
      "unsupported_media_type",
      `Content-Type must be ${accepted.join(" or ")}, got ${received === undefined ? "none" : JSON.stringify(received)}`,
      options,
    );
    this.accepted = accepted;
  }
}

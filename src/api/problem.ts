import { STATUS_CODES } from "node:http";
import { HTTPException } from "hono/http-exception";
import {
  BuildFailedError,
  ConflictError,
  DriverError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  SlipwayError,
  UnauthorizedError,
  ValidationError,
} from "../domain/errors.ts";
import { MalformedRequestError, UnsupportedMediaTypeError } from "./http-errors.ts";

/**
 * An RFC 9457 problem details document. `type` is "about:blank" (the status says it all),
 * so clients switch on the stable `code` extension; `errors` lists every individual problem
 * with the input (empty when there is only one).
 */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly errors: readonly string[];
}

/** Media type of every error response. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** The one place errors become HTTP statuses. Unknown errors are 500 and say nothing more. */
export function toProblem(error: unknown): Problem {
  if (error instanceof SlipwayError) {
    const status = statusOf(error);
    if (status !== undefined) {
      const errors = error instanceof ValidationError ? error.details : [];
      return problem(status, error.code, error.message, errors);
    }
  }
  if (error instanceof HTTPException && error.status < 500) {
    return problem(error.status, "http_error", error.message || titleOf(error.status), []);
  }
  return problem(500, "internal_error", "internal error; the server log has the details", []);
}

/** Whether a problem hides an error the operator should see (it is logged, not sent). */
export function isInternal(problemDoc: Problem): boolean {
  return problemDoc.status >= 500 && problemDoc.code === "internal_error";
}

/** The problem as a Response, with the headers its status calls for. */
export function problemResponse(problemDoc: Problem): Response {
  const headers = new Headers({ "Content-Type": PROBLEM_CONTENT_TYPE });
  if (problemDoc.status === 401) headers.set("WWW-Authenticate", 'Bearer realm="slipway"');
  return new Response(JSON.stringify(problemDoc), { status: problemDoc.status, headers });
}

function statusOf(error: SlipwayError): number | undefined {
  if (error instanceof MalformedRequestError) return 400;
  if (error instanceof UnauthorizedError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof UnsupportedMediaTypeError) return 415;
  if (error instanceof ValidationError) return 422;
  if (error instanceof BuildFailedError) return 422;
  if (error instanceof DriverError) return 502;
  // A SlipwayError this table does not know yet: treat it as internal rather than guess.
  return undefined;
}

function problem(status: number, code: string, detail: string, errors: readonly string[]): Problem {
  return { type: "about:blank", title: titleOf(status), status, detail, code, errors };
}

function titleOf(status: number): string {
  return STATUS_CODES[status] ?? "Error";
}

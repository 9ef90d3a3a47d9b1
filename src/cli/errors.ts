import { SlipwayError } from "../domain/errors.ts";
import type { Problem } from "../api/problem.ts";

/** The command line itself is wrong: unknown command or flag, missing argument (exit 2). */
export class UsageError extends SlipwayError {
  /** The command whose --help would explain, if known. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super("usage", message);
    this.command = command;
  }
}

/** The API answered with an error; detail is what the user sees (exit 1). */
export class ApiError extends SlipwayError {
  readonly status: number;
  readonly problem: Problem | undefined;
  constructor(status: number, detail: string, problem?: Problem) {
    super(problem?.code ?? "api_error", detail);
    this.status = status;
    this.problem = problem;
  }
}

/** The API could not be reached or spoke something that is not the Slipway API (exit 1). */
export class ConnectionError extends SlipwayError {
  constructor(message: string, options?: ErrorOptions) {
    super("connection_failed", message, options);
  }
}

/** No usable credentials: not logged in, or the credentials file is unreadable (exit 1). */
export class CredentialsError extends SlipwayError {
  constructor(message: string, options?: ErrorOptions) {
    super("no_credentials", message, options);
  }
}

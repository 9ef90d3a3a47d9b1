import {
  ConflictError,
  DriverError,
  NotFoundError,
  type SlipwayError,
} from "../../domain/errors.ts";

/**
 * What the engine answered when a request failed. It never crosses the driver boundary by
 * itself: it rides along as the `cause` of the typed error the caller sees, so logs keep
 * the status and the engine's own words.
 */
export class EngineResponseError extends Error {
  readonly status: number;
  /** The engine's `message` field (Docker and Podman both send one), or the raw body. */
  readonly engineMessage: string;
  constructor(method: string, path: string, status: number, engineMessage: string) {
    super(`${method} ${path} answered ${status}: ${engineMessage}`);
    this.name = "EngineResponseError";
    this.status = status;
    this.engineMessage = engineMessage;
  }
}

/** The kind of object a path is about, for NotFoundError ("container", "image", ...). */
export interface Subject {
  readonly kind: string;
  readonly name: string;
}

const KINDS: Readonly<Record<string, string>> = {
  containers: "container",
  images: "image",
  networks: "network",
  volumes: "volume",
};

/** Guesses the subject from an API path such as /containers/abc/start. */
export function subjectOf(path: string): Subject {
  const [collection = "", name = ""] = path.split("/").filter((part) => part !== "");
  return { kind: KINDS[collection] ?? "engine_object", name: decodeURIComponent(name) };
}

/** Extracts the engine's message from an error body (JSON `{message}` or plain text). */
export function engineMessageOf(body: string): string {
  const text = body.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "message" in parsed) {
      const message = parsed.message;
      if (typeof message === "string") return message;
    }
  } catch (error) {
    // Not JSON: some failures (proxies, panics) answer in plain text, which is the message.
    if (!(error instanceof SyntaxError)) throw error;
  }
  return text === "" ? "(empty answer)" : text.slice(0, 2000);
}

/**
 * Podman answers 500, not 404, when an object vanishes while it answers (a container
 * removed between the lookup of its name and the read of its state says "does not exist
 * in database: no such container"). The words are the only signal; they count only when
 * they name the kind of object the path is about.
 */
const VANISHED = /\bno such (container|image|network|volume)\b/;

/**
 * Maps a failed answer to the typed error callers handle: 404 (or Podman's 500 for an
 * object that vanished meanwhile) → NotFoundError, 409 → ConflictError, anything else →
 * DriverError. The engine's message is kept.
 */
export function mapEngineError(
  method: string,
  path: string,
  status: number,
  body: string,
  subject: Subject = subjectOf(path),
): SlipwayError {
  const cause = new EngineResponseError(method, path, status, engineMessageOf(body));
  const vanished = status === 500 && VANISHED.exec(cause.engineMessage)?.[1] === subject.kind;
  if (status === 404 || vanished) {
    return new NotFoundError(subject.kind, subject.name, { cause });
  }
  if (status === 409) return new ConflictError(`engine: ${cause.engineMessage}`, { cause });
  return new DriverError("engine", cause.message, { cause });
}

/**
 * True when the engine refused because something is already taken or overlaps. Docker
 * says 409 or "Pool overlaps"; Podman says 500 "already used" / "already in use" /
 * "already exists", so the message is the only reliable signal.
 */
export function isTakenError(error: unknown): boolean {
  if (error instanceof ConflictError) return true;
  const cause = error instanceof Error ? error.cause : undefined;
  return (
    cause instanceof EngineResponseError &&
    /already (used|in use|exists)|overlaps/i.test(cause.engineMessage)
  );
}

/** True when the engine's message for this error matches the pattern. */
export function engineSaid(error: unknown, pattern: RegExp): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof EngineResponseError && pattern.test(cause.engineMessage);
}

/** Crash history of one process type of an app (what the crash back-off decides from). */
export interface CrashRecord {
  /** Consecutive crashes (reset after a quiet period). */
  readonly count: number;
  /** Every crash replaced so far, for `slipway ps`. */
  readonly restarts: number;
  /** When the last crash was seen (ms since the epoch). */
  readonly lastCrashAt: number;
  /** The next replacement may start at this time (ms since the epoch). */
  readonly backoffUntil: number;
}

/** A crash record with the app and process type it belongs to, as the store keeps it. */
export interface ProcessCrashRecord extends CrashRecord {
  readonly appId: string;
  readonly processType: string;
}

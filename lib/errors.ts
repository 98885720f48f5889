/**
 * Typed errors with stable codes. Worker threads cannot send custom Error
 * subclasses across the thread boundary, so every error the core raises on
 * purpose carries a `code` that survives serialisation (see `toWireError`).
 * Every error `lib` throws is a `PorchlightError`; the HTTP status of an
 * answer follows from its code through one table (`httpStatusOf`).
 */
export type PorchlightErrorCode =
  | 'NOT_AN_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_TOO_SMALL'
  | 'CORRUPT_IMAGE'
  /** The caller's data is wrong: a malformed value, a missing field, too few samples. */
  | 'BAD_INPUT'
  /** A setting is wrong: an option out of range, a model pack without the file asked for. */
  | 'BAD_CONFIG'
  /** A command line the CLI cannot read (it exits with 2). */
  | 'USAGE'
  | 'QUEUE_FULL'
  | 'DROPPED'
  | 'TASK_TIMEOUT'
  | 'WORKER_CRASHED'
  | 'POOL_CLOSED'
  | 'MODEL_UNAVAILABLE'
  | 'UNKNOWN_DETECTOR'
  | 'UNKNOWN_RECOGNIZER'
  | 'NOT_FOUND'
  | 'CONFLICT'
  /** The database server (PostgreSQL) cannot be reached: down, refused, timed out. */
  | 'DB_UNREACHABLE'
  /** The database was written by a newer Porchlight (its schema version is ahead of this package's). */
  | 'DB_TOO_NEW'
  /** The database refuses writes: a read-only file, or a folder where its journal cannot be made. */
  | 'READ_ONLY'
  /** A device or the tool that reads it does not answer: a camera, gpiomon. */
  | 'DEVICE_UNAVAILABLE'
  /** A backup that failed its verification (integrity check, row counts), or a restore that did. */
  | 'BACKUP_FAILED'
  /** The event log could not store an event now (disk full, read-only, locked): it keeps it and retries. */
  | 'NOT_STORED'
  /** A stage behind an open circuit breaker: not tried until its cool-off ends. */
  | 'CIRCUIT_OPEN'
  /** The caller is not signed in, where signing in would let it through. */
  | 'UNAUTHENTICATED'
  /** The caller (a dashboard connection) lacks the permission the action needs. */
  | 'FORBIDDEN'
  /** A broken promise inside Porchlight itself (a bug), or an error that is not a PorchlightError. */
  | 'INTERNAL';

/**
 * The HTTP status of an answer that failed with each code: 4xx where the
 * caller (its request, or the settings it names) is at fault, 503/504 where
 * a resource is busy, closed or away for now, 500 for Porchlight's own faults.
 */
const HTTP_STATUS: Readonly<Record<PorchlightErrorCode, number>> = {
  NOT_AN_IMAGE: 400,
  UNSUPPORTED_FORMAT: 400,
  CORRUPT_IMAGE: 400,
  IMAGE_TOO_SMALL: 400,
  IMAGE_TOO_LARGE: 413,
  BAD_INPUT: 400,
  BAD_CONFIG: 400,
  USAGE: 400,
  UNKNOWN_DETECTOR: 400,
  UNKNOWN_RECOGNIZER: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  QUEUE_FULL: 503,
  DROPPED: 503,
  POOL_CLOSED: 503,
  MODEL_UNAVAILABLE: 503,
  DB_UNREACHABLE: 503,
  DB_TOO_NEW: 503,
  READ_ONLY: 503,
  NOT_STORED: 503,
  DEVICE_UNAVAILABLE: 503,
  CIRCUIT_OPEN: 503,
  TASK_TIMEOUT: 504,
  WORKER_CRASHED: 500,
  BACKUP_FAILED: 500,
  INTERNAL: 500,
};

/** Every error code, in the table's order. */
export const ERROR_CODES = Object.keys(HTTP_STATUS) as PorchlightErrorCode[];

/** The HTTP status for an error code (500 for anything that is not one). */
export function httpStatusOf(code: string | undefined): number {
  return code !== undefined && Object.hasOwn(HTTP_STATUS, code) ? HTTP_STATUS[code as PorchlightErrorCode] : 500;
}

export class PorchlightError extends Error {
  readonly code: PorchlightErrorCode;
  constructor(code: PorchlightErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PorchlightError';
    this.code = code;
  }
}

/** Plain-object form of an error, safe to post between threads. */
export interface WireError {
  code: PorchlightErrorCode;
  message: string;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof PorchlightError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}

export function fromWireError(wire: WireError): PorchlightError {
  return new PorchlightError(wire.code, wire.message);
}

export function isPorchlightError(err: unknown, code?: PorchlightErrorCode): err is PorchlightError {
  return err instanceof PorchlightError && (code === undefined || err.code === code);
}

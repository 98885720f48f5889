/**
 * Typed errors with stable codes. Worker threads cannot send custom Error
 * subclasses across the thread boundary, so every error the core raises on
 * purpose carries a `code` that survives serialisation (see `toWireError`).
 */
export type PorchlightErrorCode =
  | 'NOT_AN_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_TOO_SMALL'
  | 'CORRUPT_IMAGE'
  | 'BAD_INPUT'
  | 'QUEUE_FULL'
  | 'DROPPED'
  | 'TASK_TIMEOUT'
  | 'WORKER_CRASHED'
  | 'POOL_CLOSED'
  | 'MODEL_UNAVAILABLE'
  | 'UNKNOWN_DETECTOR'
  | 'NOT_FOUND'
  | 'CONFLICT'
  /** The database server (PostgreSQL) cannot be reached: down, refused, timed out. */
  | 'DB_UNREACHABLE'
  /** A backup that failed its verification (integrity check, row counts), or a restore that did. */
  | 'BACKUP_FAILED'
  /** A stage behind an open circuit breaker: not tried until its cool-off ends. */
  | 'CIRCUIT_OPEN'
  /** The caller (a dashboard connection) lacks the permission the action needs. */
  | 'FORBIDDEN'
  | 'INTERNAL';

export class PorchlightError extends Error {
  readonly code: PorchlightErrorCode;
  constructor(code: PorchlightErrorCode, message: string) {
    super(message);
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

import type { Request, Response } from 'express';
import { isPorchlightError, type PorchlightErrorCode } from '../../lib/errors';

/** HTTP status of each error code the admin API can meet; anything else is a 500. */
const STATUS_OF: Partial<Record<PorchlightErrorCode, number>> = {
  BAD_INPUT: 400, NOT_AN_IMAGE: 400, UNSUPPORTED_FORMAT: 400, CORRUPT_IMAGE: 400, IMAGE_TOO_SMALL: 400,
  IMAGE_TOO_LARGE: 413, NOT_FOUND: 404, CONFLICT: 409, QUEUE_FULL: 503, DROPPED: 503, TASK_TIMEOUT: 504, DB_UNREACHABLE: 503,
};

/** Answers a failed admin API request with `{error: {code, message}}`: 4xx for the caller's mistakes, 500 otherwise. */
export function sendError(res: Response, err: unknown): void {
  const code = isPorchlightError(err) ? err.code : 'INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(STATUS_OF[code] ?? 500).json({ error: { code, message } });
}

/** Wraps an async route so a thrown error becomes a JSON answer, never an unhandled rejection. */
export function route(handler: (req: Request, res: Response) => unknown): (req: Request, res: Response) => void {
  return (req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err) => sendError(res, err));
  };
}

import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { httpStatusOf, isPorchlightError } from '../../lib/errors';

/** Answers a failed admin API request with `{error: {code, message}}`: 4xx for the caller's mistakes, 500 otherwise. */
export function sendError(res: Response, err: unknown): void {
  const code = isPorchlightError(err) ? err.code : 'INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(httpStatusOf(code)).json({ error: { code, message } });
}

/** Wraps an async route so a thrown error becomes a JSON answer, never an unhandled rejection. */
export function route(handler: (req: Request, res: Response) => unknown): (req: Request, res: Response) => void {
  return (req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err) => sendError(res, err));
  };
}

type ErrorMiddleware = (err: unknown, req: Request, res: Response, next: (err?: unknown) => void) => void;
interface MountableApp {
  use(path: string, handler: ErrorMiddleware): unknown;
  /** Express sets this on an app mounted in another (Node-RED mounts the runtime's admin app in the editor's). */
  parent?: MountableApp;
}

const withJsonErrors = new WeakSet<object>();

/**
 * Errors raised before a /porchlight/ route runs (a malformed or cut JSON body
 * in Node-RED's body parser, a body over apiMaxLength) answer `{error: {code,
 * message}}` with the parser's 4xx, not Express's HTML page with a stack
 * trace and server paths. The body parser runs in the editor's admin app,
 * which mounts the runtime's (RED.httpAdmin); an error there never enters the
 * mounted app, so the handler goes on both. Idempotent.
 */
export function answerJsonErrors(RED: NodeAPI): void {
  const app = RED.httpAdmin as unknown as MountableApp;
  for (const current of [app, app.parent]) {
    if (!current || withJsonErrors.has(current)) continue;
    withJsonErrors.add(current);
    current.use('/porchlight', (err, _req, res, next) => {
      if (res.headersSent) {
        next(err);
        return;
      }
      const status = (err as { status?: unknown }).status;
      const code = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
      const type = (err as { type?: unknown }).type;
      const message =
        type === 'entity.parse.failed' ? `malformed request body: ${(err as Error).message}`
        : type === 'entity.too.large' ? 'request body too large'
        : code < 500 ? `bad request: ${(err as Error).message}`
        : 'internal error';
      res.status(code).json({ error: { code: code === 413 ? 'IMAGE_TOO_LARGE' : code < 500 ? 'BAD_INPUT' : 'INTERNAL', message } });
    });
  }
}

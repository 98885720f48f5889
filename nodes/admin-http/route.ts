import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { httpStatusOf, isPorchlightError } from '../../lib/errors';

/** Reads (lists, pictures, searches) need `porchlight.read`; every change needs `porchlight.write`. */
export type Permission = 'porchlight.read' | 'porchlight.write';

/** A route's work: its resolved value (when not undefined) is the JSON answer; a thrown error becomes `{error: {code, message}}`. */
export type Handler = (req: Request, res: Response) => unknown;

export interface Route {
  permission: Permission;
  run: Handler;
}

/** The one wrapper: a handler and the permission it needs (checked by Node-RED's adminAuth before it runs). */
export const route = (permission: Permission, run: Handler): Route => ({ permission, run });

export type Method = 'get' | 'post' | 'delete';

/** Where the route files register: `app.get(path, route(...))`. */
export type AdminApp = Record<Method, (path: string, route: Route) => void>;

/** One registered route, as the route table lists it. */
export interface RouteEntry {
  method: Method;
  path: string;
  permission: Permission;
}

/** Answers a failed request with `{error: {code, message}}` and the status `httpStatusOf(code)`. */
export function sendError(res: Response, err: unknown): void {
  const code = isPorchlightError(err) ? err.code : 'INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(httpStatusOf(code)).json({ error: { code, message } });
}

/** Runs a handler so that a thrown error or rejection becomes a JSON answer, never an unhandled rejection. */
function serve(run: Handler): (req: Request, res: Response) => void {
  return (req, res) => {
    Promise.resolve()
      .then(() => run(req, res))
      .then((body) => {
        if (body !== undefined && !res.headersSent) res.json(body);
      })
      .catch((err) => sendError(res, err));
  };
}

/** An AdminApp on Node-RED's admin server: each route behind `RED.auth.needsPermission`, each listed in `table`. */
export function adminApp(RED: NodeAPI, table: RouteEntry[]): AdminApp {
  const add = (method: Method) => (path: string, { permission, run }: Route) => {
    RED.httpAdmin[method](path, RED.auth.needsPermission(permission), serve(run));
    table.push({ method, path, permission });
  };
  return { get: add('get'), post: add('post'), delete: add('delete') };
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
 * mounted app, so the handler goes on both (once each).
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

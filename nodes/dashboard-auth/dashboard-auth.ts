/**
 * `porchlight-dashboard-auth`: a Node-RED plugin (package.json `node-red.plugins`)
 * that puts FlowFuse Dashboard 2.0 behind the same users and permissions as
 * Porchlight's admin API. What it does (see nodes/shared/dashboard-access.ts
 * for who may do what):
 *
 * - On the dashboard's socket.io server (found once the flows start): a
 *   handshake from a browser without `porchlight.read` is refused with 403
 *   before any socket exists (engine.io `allowRequest`), so it receives no
 *   configuration, no broadcast and no stored message; the access decided
 *   there is kept on the socket (`socket.data.porchlight`).
 * - Dashboard 2.0 hooks (type `node-red-dashboard-2`): every message a browser
 *   sends (`widget-send`, `widget-action`, `widget-change`) is dropped unless the
 *   socket has `porchlight.write`; an accepted one gets `msg._client` set by the
 *   server (the socket id and the user), replacing whatever the browser sent.
 *   face-db checks that socket's permission again before any change.
 * - Pages: under adminAuth, a dashboard page without a signed-in browser
 *   redirects to `<admin root>porchlight/dashboard/login`; `_setup` and the
 *   dashboard's `_debug` routes answer 401.
 * - Admin routes: the login page; `POST /porchlight/dashboard/session` (a
 *   Bearer token with porchlight.read) sets the HttpOnly, SameSite=Strict
 *   cookie; `GET` says who is signed in and how the dashboard is locked;
 *   `DELETE` signs out. The cookie stands in for the Authorization header
 *   on the admin API's reads (GET and HEAD under /porchlight/, and the
 *   read-only `POST /porchlight/visitors/find`), so pictures and lists load
 *   in `<img>` tags and the pages' fetches; every write needs the header.
 */
import type { IncomingMessage } from 'node:http';
import type { NodeAPI } from 'node-red';
import type { NextFunction, Request, Response } from 'express';
import {
  SESSION_COOKIE,
  accessMode,
  adminRoot,
  cookieValue,
  loginUrl,
  rememberGuardedServer,
  requestAccess,
  type DashboardAccess,
} from '../shared/dashboard-access';
import { loginPage } from './login-page';
import { sendError } from '../admin-http';
import { PorchlightError } from '../../lib/errors';

/** Where the access decided at the handshake waits for the socket made from that request. */
const HANDSHAKE_ACCESS = Symbol('porchlight.dashboardAccess');
type HandshakeRequest = IncomingMessage & { [HANDSHAKE_ACCESS]?: DashboardAccess };

interface DashboardSocket {
  id: string;
  connected: boolean;
  request: HandshakeRequest;
  data: { porchlight?: DashboardAccess } & Record<string, unknown>;
  disconnect(close?: boolean): void;
}
interface DashboardIo {
  engine: { opts: { allowRequest?: (req: IncomingMessage, callback: (err: string | null | undefined, ok: boolean) => void) => void } };
  use(middleware: (socket: DashboardSocket, next: (err?: Error) => void) => void): void;
  of(namespace: string): { sockets: Map<string, DashboardSocket> };
}

type ClientMessage = Record<string, unknown>;

/** The longest a dashboard sign-in cookie lives (Node-RED's own tokens default to 7 days). */
const MAX_SESSION_S = 7 * 24 * 3600;

export = function register(RED: NodeAPI): void {
  const guarded = new WeakSet<object>();
  let dashboardPaths: string[] = [];
  let warnedAt = 0;

  const refusedOnce = (what: string) => {
    // One line a minute at most: a hostile client must not flood the log.
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    RED.log.warn(`Porchlight: a dashboard ${what} without porchlight.write was dropped (${accessMode(RED) === 'login' ? 'sign in at ' + loginUrl(RED) : 'httpNodeAuth credentials missing'})`);
  };

  const accessOf = (conn: DashboardSocket | undefined): DashboardAccess | undefined => conn?.data?.porchlight;

  /** Sets `_client` from the server's knowledge of the socket (never the browser's). */
  const stamp = (conn: DashboardSocket, msg: unknown, access: DashboardAccess) => {
    const one = (item: unknown) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) return;
      const client: Record<string, unknown> = { socketId: conn.id };
      if (access.user) client.user = { ...access.user };
      (item as ClientMessage)._client = client;
    };
    if (Array.isArray(msg)) msg.forEach(one);
    else one(msg);
  };

  /** A browser's message into the flows: only with porchlight.write. */
  const admit = (what: string) => (conn: DashboardSocket, id: string, msg: unknown) => {
    const access = accessOf(conn);
    if (!access?.write) {
      refusedOnce(what);
      // A Porchlight page's change: its page hears why, in the face-db answer's form, on this socket alone.
      const asked = msg as { topic?: unknown; dashboard?: unknown } | null;
      if (access?.read && asked && typeof asked === 'object' && asked.topic === 'face-db' && typeof id === 'string') {
        const dashboard = asked.dashboard && typeof asked.dashboard === 'object' ? (asked.dashboard as Record<string, unknown>) : {};
        const message = `Not done: ${access.user?.username ? `${access.user.username} may only look` : 'read only'} (changes need porchlight.write)`;
        (conn as unknown as { emit(event: string, payload: unknown): void }).emit(`msg-input:${id}`, { topic: 'face-db-result', dashboard: { ...dashboard, ok: false, message } });
      }
      return null;
    }
    stamp(conn, msg, access);
    return msg;
  };

  RED.plugins.registerPlugin('porchlight-dashboard-auth', {
    type: 'node-red-dashboard-2',
    hooks: {
      onSend: admit('widget-send'),
      onAction: admit('widget-action'),
      onChange: admit('widget-change'),
      onAddConnectionCredentials(conn: DashboardSocket, msg: ClientMessage) {
        const access = accessOf(conn);
        if (access) stamp(conn, msg, access);
        return msg;
      },
      onIsValidConnection(conn: DashboardSocket) {
        return Boolean(accessOf(conn)?.read);
      },
      onLoad(conn: DashboardSocket, _id: string, msg: unknown) {
        return accessOf(conn)?.read ? msg : null;
      },
    },
  } as never);

  /** Locks one dashboard socket.io server: handshakes checked, sockets from before the lock sent away. */
  const guard = (io: DashboardIo) => {
    if (guarded.has(io)) return;
    guarded.add(io);
    rememberGuardedServer(io);
    const previous = io.engine.opts.allowRequest;
    const check = (req: HandshakeRequest, callback: (err: string | null | undefined, ok: boolean) => void) => {
      requestAccess(RED, req).then(
        (access) => {
          if (!access.read) return callback(access.mode === 'login' ? `sign in first: ${loginUrl(RED)}` : 'credentials needed', false);
          req[HANDSHAKE_ACCESS] = access;
          callback(null, true);
        },
        (err: Error) => callback(err.message, false),
      );
    };
    io.engine.opts.allowRequest = (req, callback) => {
      if (!previous) return check(req, callback);
      previous(req, (err, ok) => (ok ? check(req, callback) : callback(err, false)));
    };
    io.use((socket, next) => {
      const access = socket.request[HANDSHAKE_ACCESS];
      if (!access?.read) return next(new Error('not allowed on this dashboard'));
      socket.data.porchlight = access;
      next();
    });
    for (const socket of io.of('/').sockets.values()) {
      if (!accessOf(socket)) socket.disconnect(true);
    }
  };

  RED.events.on('flows:started', () => {
    const paths: string[] = [];
    RED.nodes.eachNode((config) => {
      if (config.type !== 'ui-base') return;
      const path = String((config as unknown as { path?: string }).path ?? '/dashboard');
      paths.push(path.startsWith('/') ? path : `/${path}`);
      const base = RED.nodes.getNode(config.id) as unknown as { uiShared?: { ioServer?: DashboardIo } } | null;
      const io = base?.uiShared?.ioServer;
      if (io) guard(io);
    });
    dashboardPaths = paths;
  });

  // The cookie stands in for the Authorization header on the admin API's reads (never on a write).
  RED.httpAdmin.use((req: Request, _res: Response, next: NextFunction) => {
    const read = req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && req.path === '/porchlight/visitors/find');
    if (read && !req.headers.authorization && req.path.startsWith('/porchlight/')) {
      const token = cookieValue(req, SESSION_COOKIE);
      if (token) req.headers.authorization = `Bearer ${token}`;
    }
    next();
  });

  // Dashboard pages under adminAuth: a browser that is not signed in goes to the sign-in page.
  RED.httpNode.use((req: Request, res: Response, next: NextFunction) => {
    if (accessMode(RED) !== 'login' || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const base = dashboardPaths.find((path) => req.path === path || req.path.startsWith(`${path}/`));
    if (!base) return next();
    const rest = req.path.slice(base.length);
    // The app's own files (scripts, styles, icons, the manifest) hold no data.
    if (rest.startsWith('/assets/') || /^\/[^/]+\.(js|css|png|svg|ico|webmanifest|woff2?|ttf)$/.test(rest)) return next();
    requestAccess(RED, req).then(
      (access) => {
        if (access.read) return next();
        if (rest === '/_setup' || rest.startsWith('/_debug')) return sendError(res, new PorchlightError('UNAUTHENTICATED', `sign in first: ${loginUrl(RED)}`));
        res.redirect(302, loginUrl(RED, req.originalUrl));
      },
      next,
    );
  });

  RED.httpAdmin.get('/porchlight/dashboard/login', (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    res.set('Content-Security-Policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    res.type('html').send(loginPage());
  });

  RED.httpAdmin.get('/porchlight/dashboard/session', (req: Request, res: Response) => {
    requestAccess(RED, req).then(
      (access) =>
        res.set('Cache-Control', 'no-store').json({
          mode: access.mode,
          read: access.read,
          write: access.write,
          user: access.user?.username ?? null,
          anonymous: Boolean(access.user?.anonymous),
          signedIn: Boolean(access.user && !access.user.anonymous),
          loginUrl: loginUrl(RED),
        }),
      (err) => sendError(res, err),
    );
  });

  const cookie = (req: Request, value: string, maxAgeS: number | undefined) =>
    [
      `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
      'Path=/',
      'HttpOnly',
      'SameSite=Strict',
      ...(maxAgeS !== undefined ? [`Max-Age=${maxAgeS}`] : []),
      ...(req.secure ? ['Secure'] : []),
    ].join('; ');

  RED.httpAdmin.post('/porchlight/dashboard/session', RED.auth.needsPermission('porchlight.read'), (req: Request, res: Response) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (accessMode(RED) !== 'login' || !match) {
      sendError(res, new PorchlightError('BAD_INPUT', 'sign in with a Node-RED token (Authorization: Bearer <token>); without adminAuth there is nothing to sign in to'));
      return;
    }
    const asked = Number((req.body as { expiresIn?: unknown } | undefined)?.expiresIn);
    const maxAge = Number.isFinite(asked) && asked > 0 ? Math.min(Math.floor(asked), MAX_SESSION_S) : undefined;
    res.set('Set-Cookie', cookie(req, match[1], maxAge));
    const user = (req as Request & { user?: { username?: string } }).user;
    res.set('Cache-Control', 'no-store').json({ user: user?.username ?? null });
  });

  RED.httpAdmin.delete('/porchlight/dashboard/session', (req: Request, res: Response) => {
    res.set('Set-Cookie', cookie(req, '', 0));
    res.status(204).end();
  });

  RED.log.debug?.(`Porchlight: dashboard sign-in at ${adminRoot(RED)}porchlight/dashboard/login`);
};


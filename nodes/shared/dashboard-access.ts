/**
 * Who may use Porchlight's dashboard (FlowFuse Dashboard 2.0), decided the
 * way the admin API decides it: shared by the `porchlight-dashboard-auth`
 * plugin (the dashboard's socket and pages) and the face-db node (which
 * refuses a dashboard's change without write permission).
 *
 * - adminAuth set ("login"): a browser signs in once on
 *   `<admin root>porchlight/dashboard/login` (with the editor's users); the
 *   Node-RED token lives in an HttpOnly, SameSite=Strict cookie. Each check
 *   runs Node-RED's own `RED.auth.needsPermission` on that token, so expiry,
 *   revocation (signing out of the editor), custom `tokens` and adminAuth's
 *   anonymous `default` all apply. `porchlight.read` lets a browser connect
 *   and watch; `porchlight.write` lets it change anything.
 * - httpNodeAuth set ("basic"): the socket needs the same credentials as the
 *   dashboard's pages.
 * - neither ("open"): anyone who reaches Node-RED may use the dashboard, as
 *   they may use the admin API; the dashboard says so.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { BasicCredentials } from './basic-auth';

/** The cookie holding a signed-in dashboard's Node-RED token. */
export const SESSION_COOKIE = 'porchlight_dashboard';

export type AccessMode = 'open' | 'basic' | 'login';

export interface DashboardAccess {
  mode: AccessMode;
  read: boolean;
  write: boolean;
  /** Under adminAuth: the signed-in user (or adminAuth's anonymous default). */
  user?: { username?: string; anonymous?: boolean };
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
interface AuthApi {
  needsPermission(permission: string): Middleware;
}

function settingOf(RED: NodeAPI, key: string): unknown {
  try {
    return (RED.settings as unknown as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

export function accessMode(RED: NodeAPI): AccessMode {
  if (settingOf(RED, 'adminAuth')) return 'login';
  return settingOf(RED, 'httpNodeAuth') ? 'basic' : 'open';
}

/** The admin root as Node-RED's launcher formats it (`/`, `/admin/`). */
export function adminRoot(RED: NodeAPI): string {
  const root = String(settingOf(RED, 'httpAdminRoot') ?? '/');
  return `${root.startsWith('/') ? '' : '/'}${root}${root.endsWith('/') ? '' : '/'}`;
}

export function loginUrl(RED: NodeAPI, returnTo?: string): string {
  return `${adminRoot(RED)}porchlight/dashboard/login${returnTo ? `?return=${encodeURIComponent(returnTo)}` : ''}`;
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A response that only records how a middleware ended the request (any answer is a refusal). */
function refusalRecorder(onEnd: () => void): ServerResponse {
  const res: Record<string, unknown> = { statusCode: 200, headersSent: false, locals: {} };
  const ended = () => {
    onEnd();
    return res;
  };
  Object.assign(res, {
    status: (code: number) => ((res.statusCode = code), res),
    set: () => res,
    header: () => res,
    setHeader: () => res,
    getHeader: () => undefined,
    removeHeader: () => res,
    writeHead: () => res,
    write: () => true,
    end: ended,
    send: ended,
    json: ended,
    sendStatus: ended,
    redirect: ended,
  });
  return res as unknown as ServerResponse;
}

/**
 * Runs Node-RED's `needsPermission(permission)` for a request carrying this
 * Authorization header (or none: adminAuth's anonymous default, if any).
 */
export function checkPermission(RED: NodeAPI, authorization: string | undefined, permission: string): Promise<{ ok: boolean; user?: DashboardAccess['user'] }> {
  return new Promise((resolve) => {
    const req = {
      method: 'GET',
      url: '/porchlight/dashboard',
      originalUrl: '/porchlight/dashboard',
      path: '/porchlight/dashboard',
      headers: authorization ? { authorization } : {},
      query: {},
      body: {},
    } as unknown as IncomingMessage & { user?: { username?: string; anonymous?: boolean } };
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      const user = req.user ? { username: req.user.username, anonymous: req.user.anonymous || undefined } : undefined;
      resolve({ ok, user });
    };
    try {
      (RED.auth as unknown as AuthApi).needsPermission(permission)(req, refusalRecorder(() => settle(false)), (err?: unknown) => settle(!err));
    } catch {
      settle(false);
    }
  });
}

const basicChecks = new WeakMap<object, BasicCredentials>();

/** Whether a request carries what httpNodeAuth asks of the dashboard's pages (always, when it is not set). */
export async function nodeAuthAllows(RED: NodeAPI, req: IncomingMessage): Promise<boolean> {
  const auth = settingOf(RED, 'httpNodeAuth') as { user?: unknown; pass?: unknown } | Middleware | Middleware[] | undefined;
  if (!auth) return true;
  if (typeof auth === 'function' || Array.isArray(auth)) {
    // httpNodeAuth given as middleware of your own: the request passes if it reaches the end of it.
    const chain = Array.isArray(auth) ? auth : [auth];
    for (const middleware of chain) {
      const passed = await new Promise<boolean>((resolve) => {
        try {
          middleware(req, refusalRecorder(() => resolve(false)), (err?: unknown) => resolve(!err));
        } catch {
          resolve(false);
        }
      });
      if (!passed) return false;
    }
    return true;
  }
  if (typeof auth.user !== 'string' || typeof auth.pass !== 'string') return false;
  let credentials = basicChecks.get(auth);
  if (!credentials) {
    credentials = new BasicCredentials(auth.user, auth.pass);
    basicChecks.set(auth, credentials);
  }
  return credentials.matches(req.headers.authorization);
}

/** What the browser behind this request (a page, or the socket's handshake) may do on the dashboard. */
export async function requestAccess(RED: NodeAPI, req: IncomingMessage): Promise<DashboardAccess> {
  const mode = accessMode(RED);
  if (!(await nodeAuthAllows(RED, req))) return { mode, read: false, write: false };
  if (mode !== 'login') return { mode, read: true, write: true };
  const token = cookieValue(req, SESSION_COOKIE);
  const authorization = token ? `Bearer ${token}` : undefined;
  const read = await checkPermission(RED, authorization, 'porchlight.read');
  if (!read.ok) return { mode, read: false, write: false };
  const write = await checkPermission(RED, authorization, 'porchlight.write');
  return { mode, read: true, write: write.ok, user: read.user };
}

/** The dashboard sockets the plugin let in: looked up by id when a dashboard message reaches face-db. */
interface GuardedSocket {
  id: string;
  connected: boolean;
  request: IncomingMessage;
}
interface GuardedServer {
  of(namespace: string): { sockets: Map<string, GuardedSocket> };
}
const guardedServers = new Set<GuardedServer>();

export function rememberGuardedServer(io: GuardedServer): void {
  guardedServers.add(io);
}

export function findDashboardSocket(id: unknown): GuardedSocket | undefined {
  if (typeof id !== 'string') return undefined;
  for (const io of guardedServers) {
    const socket = io.of('/').sockets.get(id);
    if (socket?.connected) return socket;
  }
  return undefined;
}

/**
 * For face-db: a message that came from a dashboard (it carries `_client`, which the
 * plugin stamps on every message a browser sends, over whatever the browser put there)
 * is carried out only if that browser's connection, checked again now, may read
 * (`write` false) or change (`write` true) the Porchlight database. The flow's own messages pass.
 */
export async function assertDashboardAllowed(RED: NodeAPI, msg: Record<string, unknown>, write: boolean, what: string): Promise<void> {
  const client = msg._client as { socketId?: unknown } | undefined;
  if (!client || typeof client !== 'object') return;
  if (accessMode(RED) === 'open') return;
  const socket = findDashboardSocket(client.socketId);
  const access = socket ? await requestAccess(RED, socket.request) : undefined;
  if (!access || !(write ? access.write : access.read)) {
    throw new PorchlightError('FORBIDDEN', `${what} refused: this dashboard connection has no ${write ? 'porchlight.write' : 'porchlight.read'} permission (sign in at ${loginUrl(RED)})`);
  }
}

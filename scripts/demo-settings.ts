/**
 * The settings `npm start` gives Node-RED: the demo's own, with the user
 * dir's `settings.js` (when there is one) merged over them, as `node-red`
 * itself would read it. So adminAuth, httpNodeAuth, https, httpStatic,
 * logging and the rest can be tried with the demo.
 *
 * What the demo keeps whatever the file says: `userDir` (the folder the file
 * is in) and `flowFile` (the demo flow it deploys). `PORT` and `HOST` in the
 * environment win over `uiPort` and `uiHost`; without either, the demo
 * listens on 127.0.0.1:1880 (Node-RED's own default host is every interface).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import { BasicCredentials } from '../nodes/shared/basic-auth';

export type Settings = Record<string, unknown>;

/** The demo's first-start enrolment under adminAuth: a one-time token the merged adminAuth accepts until `revoke()`. */
export interface DemoAuth {
  headers(): Record<string, string>;
  revoke(): void;
}

/** `/x` -> `/x/`, as node-red's launcher formats httpAdminRoot and httpNodeRoot. */
export function formatRoot(root: string): string {
  let formatted = root.startsWith('/') ? root : `/${root}`;
  if (!formatted.endsWith('/')) formatted += '/';
  return formatted;
}

/** The user dir's settings.js, or {} when there is none. A file that fails to load stops the start with its error. */
export function readUserSettings(userDir: string): Settings {
  const file = path.join(userDir, 'settings.js');
  if (!fs.existsSync(file)) return {};
  const loaded = require(file) as Settings | { default?: Settings };
  const settings = (loaded && typeof loaded === 'object' && 'default' in loaded && loaded.default ? loaded.default : loaded) as Settings;
  if (!settings || typeof settings !== 'object') throw new Error(`${file} must export an object (module.exports = { ... })`);
  return settings;
}

/**
 * The merged settings. Under adminAuth, the demo enrols its cast at first start
 * with a random token that adminAuth's `tokens` hook (wrapped around the
 * user's own, if any) accepts as `porchlight.write` until it is revoked.
 */
export function demoSettings(userDir: string, flowFile: string): { settings: Settings; demoAuth: DemoAuth; port: number; host: string; fromFile: boolean } {
  const user = readUserSettings(userDir);
  const settings: Settings = {
    uiHost: '127.0.0.1',
    uiPort: 1880,
    // Node-RED's defaults: the editor and the admin API at /, HTTP-in nodes and the dashboard (/dashboard) at / too.
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    credentialSecret: false,
    logging: { console: { level: process.env.LOG_LEVEL ?? 'info', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
    ...user,
    userDir,
    flowFile,
  };
  if (settings.httpRoot === false) {
    settings.httpAdminRoot = false;
    settings.httpNodeRoot = false;
  }
  for (const key of ['httpAdminRoot', 'httpNodeRoot'] as const) {
    if (settings[key] !== false) settings[key] = formatRoot(String(settings[key] ?? settings.httpRoot ?? '/'));
  }
  settings.httpNodeAuth = settings.httpNodeAuth ?? settings.httpAuth;
  // A settings.js's logging level is the user's choice; LOG_LEVEL (the tests') still wins.
  if (process.env.LOG_LEVEL && user.logging) settings.logging = { console: { ...((user.logging as Settings).console as Settings), level: process.env.LOG_LEVEL } };

  let token: string | undefined;
  let tokenHeader = 'authorization';
  if (settings.adminAuth && typeof settings.adminAuth === 'object') {
    const adminAuth = settings.adminAuth as Settings;
    const own = typeof adminAuth.tokens === 'function' ? (adminAuth.tokens as (t: string) => unknown) : undefined;
    const secret = crypto.randomBytes(32).toString('hex');
    token = secret;
    if (typeof adminAuth.tokenHeader === 'string') tokenHeader = adminAuth.tokenHeader.toLowerCase();
    settings.adminAuth = {
      ...adminAuth,
      tokens: async (presented: string) => {
        if (token && typeof presented === 'string' && presented.length === secret.length && crypto.timingSafeEqual(Buffer.from(presented), Buffer.from(secret))) {
          return { username: 'porchlight-demo', permissions: ['porchlight.read', 'porchlight.write'] };
        }
        return own ? own(presented) : null;
      },
    };
  }
  const demoAuth: DemoAuth = {
    headers: () => (token ? { [tokenHeader]: tokenHeader === 'authorization' ? `Bearer ${token}` : token } : {}),
    revoke: () => {
      token = undefined;
    },
  };
  const port = process.env.PORT !== undefined ? Number(process.env.PORT) : Number(settings.uiPort ?? 1880);
  const host = process.env.HOST ?? String(settings.uiHost ?? '127.0.0.1');
  return { settings, demoAuth, port, host, fromFile: Object.keys(user).length > 0 };
}

/** Basic authentication as node-red's launcher does it for httpNodeAuth {user, pass}, without blocking the event loop on bcrypt. */
export function basicAuth(user: string, pass: string): RequestHandler {
  const credentials = new BasicCredentials(user, pass);
  return (req, res, next) => {
    if (req.method === 'OPTIONS') return next();
    credentials.matches(req.headers.authorization).then((ok) => {
      if (ok) return next();
      res.set('WWW-Authenticate', 'Basic realm="Authorization Required"');
      res.sendStatus(401);
    }, next);
  };
}

/** The node app at httpNodeRoot, behind httpNodeAuth when set ({user, pass}, or middleware of your own). */
export function mountHttpNode(app: Express, settings: Settings, httpNode: RequestHandler): void {
  const root = settings.httpNodeRoot;
  if (root === false) return;
  const auth = settings.httpNodeAuth as { user?: string; pass?: string } | RequestHandler | RequestHandler[] | undefined;
  if (typeof auth === 'function' || Array.isArray(auth)) app.use(root as string, auth);
  else if (auth && typeof auth.user === 'string' && typeof auth.pass === 'string') app.use(root as string, basicAuth(auth.user, auth.pass));
  app.use(root as string, httpNode);
}

/** httpStatic: a folder, or [{path, root}], served at httpStaticRoot (behind httpStaticAuth when set). */
export function mountHttpStatic(app: Express, settings: Settings): void {
  if (!settings.httpStatic) return;
  const staticRoot = formatRoot(String(settings.httpStaticRoot ?? '/'));
  const entries = (Array.isArray(settings.httpStatic) ? settings.httpStatic : [settings.httpStatic]) as Array<string | { path: string; root?: string }>;
  const auth = settings.httpStaticAuth as { user?: string; pass?: string } | undefined;
  for (const entry of entries) {
    const folder = typeof entry === 'string' ? entry : entry.path;
    const root = formatRoot(path.posix.join(staticRoot, typeof entry === 'string' ? '/' : (entry.root ?? '/')));
    if (auth?.user && auth.pass) app.use(root, basicAuth(auth.user, auth.pass));
    app.use(root, express.static(folder));
  }
}

/** For the start line: whether a settings.js was merged. */
export function demoSettingsNote(fromFile: boolean): string {
  return fromFile ? ', settings.js merged over the demo\'s' : '';
}

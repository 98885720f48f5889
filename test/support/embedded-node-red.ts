/**
 * A real Node-RED embedded as `npm start` runs it, with `adminAuth`
 * configured, in a child process (so its settings never leak into the
 * tests' own runtime). Two users share one password: `admin` (every
 * permission) and `viewer` (read only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { nodeFile } from './paths';
import { waitUntil } from './wait';

export const PASSWORD = 'porch-light-test';

interface ChildOptions {
  userDir: string;
  nodes: string[];
  /** false: Node-RED's default, no adminAuth (anyone reaching the port is admin). */
  adminAuth?: boolean;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[]; _router?: { stack: Layer[] } };
}

/** `METHOD /porchlight/...` of every route in an express app, looking into the apps and routers mounted in it (the nodes register on the runtime's admin app, which Node-RED mounts in its own). */
function porchlightRoutes(app: { _router?: { stack: Layer[] } }): string[] {
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        return String(layer.route.path).startsWith('/porchlight/') ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`) : [];
      }
      const inner = layer.handle?._router?.stack ?? layer.handle?.stack;
      return inner ? walk(inner) : [];
    });
  return walk(app._router?.stack ?? []);
}

/** In the child: starts Node-RED with the flow in `userDir/flows.json`, prints its port and the admin routes under /porchlight/. */
async function runChild({ userDir, nodes, adminAuth = true }: ChildOptions): Promise<void> {
  const express = require('express');
  const bcrypt = require('bcryptjs');
  const RED = require('node-red');
  const hash = bcrypt.hashSync(PASSWORD, 8);
  const app = express();
  const server = http.createServer(app);
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    credentialSecret: false,
    nodesDir: nodes.map((name) => path.dirname(nodeFile(name))),
    adminAuth: adminAuth
      ? {
          type: 'credentials',
          users: [
            { username: 'admin', password: hash, permissions: '*' },
            { username: 'viewer', password: hash, permissions: 'read' },
          ],
        }
      : undefined,
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
  });
  app.use('/', RED.httpAdmin);
  app.use('/api', RED.httpNode); // flows' own http in nodes, under httpNodeRoot
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await RED.start();
  fs.writeSync(1, `routes ${JSON.stringify(porchlightRoutes(RED.runtime.httpAdmin))}\nlistening ${(server.address() as AddressInfo).port}\n`);
}

if (require.main === module) {
  runChild(JSON.parse(process.argv[2]) as ChildOptions).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

export interface EmbeddedNodeRed {
  /** `http://127.0.0.1:<port>/`, the admin root. */
  base: string;
  /** Every `METHOD /porchlight/...` route the runtime registered, e.g. `GET /porchlight/events/:id`. */
  routes: string[];
  userDir: string;
  /** A bearer token for `admin` or `viewer`, with the given scope. */
  token(username: 'admin' | 'viewer', scope?: string): Promise<string>;
  /** Whether the Node-RED process is still running. */
  alive(): boolean;
  /** Resolves once `url` answers 200 to the admin (the flow starts after the runtime). */
  waitFor(url: string): Promise<void>;
  /** Sends `signal` at once (a SIGKILL the moment an answer arrives); resolves when the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Default true: the users `admin` and `viewer`. */
  adminAuth?: boolean;
  /** The compiled copy of this file to run (a test of a copied install runs that copy's, so its nodes and packages are the copy's). */
  entry?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts Node-RED with adminAuth (unless `options.adminAuth` is false), the named nodes loaded from dist/, and `flows(userDir)` deployed. */
export async function startNodeRedWithAuth(nodes: string[], flows: (userDir: string) => object[], options: StartOptions = {}): Promise<EmbeddedNodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-auth-'));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows(userDir)));
  const child: ChildProcess = spawn(process.execPath, [options.entry ?? __filename, JSON.stringify({ userDir, nodes, adminAuth: options.adminAuth !== false })], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const { port, routes } = await new Promise<{ port: number; routes: string[] }>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk) => {
      text += chunk;
      const listening = /routes (.*)\nlistening (\d+)\n/.exec(text);
      if (listening) resolve({ routes: JSON.parse(listening[1]), port: Number(listening[2]) });
    });
    child.on('exit', (code) => reject(new Error(`Node-RED exited (${code}): ${stderr}`)));
  });
  const base = `http://127.0.0.1:${port}/`;
  const token = async (username: 'admin' | 'viewer', scope = '*'): Promise<string> => {
    const res = await fetch(`${base}auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: PASSWORD }),
    });
    if (res.status !== 200) throw new Error(`login as ${username}: ${res.status}`);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  return {
    base,
    routes,
    userDir,
    token,
    alive: () => child.exitCode === null && child.signalCode === null,
    async waitFor(url) {
      const admin = options.adminAuth === false ? '' : await token('admin');
      // Within 30 s: a machine busy with other work starts a flow slowly.
      await waitUntil(async () => (await fetch(`${base}${url}`, { headers: { Authorization: `Bearer ${admin}` } })).status === 200, {
        timeout: 30_000,
        interval: 100,
        message: `${url} to answer 200 (the flow to start)`,
      });
    },
    kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      return exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

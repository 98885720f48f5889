import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { nodeFile } from './support/paths';

const PASSWORD = 'porch-light-test';

/**
 * The child: a real Node-RED, embedded as `npm start` runs it, with
 * `adminAuth` configured, the event-log and porchlight-db nodes loaded from
 * dist/, and a flow using them. Prints its port once listening.
 */
async function runNodeRed(userDir: string): Promise<void> {
  const express = require('express');
  const bcrypt = require('bcryptjs');
  const RED = require('node-red');
  const flows = [
    { id: 'tab', type: 'tab', label: 'log' },
    { id: 'db', type: 'porchlight-db', file: path.join(userDir, 'porchlight.db'), snapshotDir: path.join(userDir, 'snapshots') },
    { id: 'el', type: 'event-log', z: 'tab', db: 'db', wires: [[], []] },
  ];
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const hash = bcrypt.hashSync(PASSWORD, 8);
  const app = express();
  const server = http.createServer(app);
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    credentialSecret: false,
    nodesDir: [path.dirname(nodeFile('event-log')), path.dirname(nodeFile('porchlight-db'))],
    adminAuth: {
      type: 'credentials',
      users: [
        { username: 'admin', password: hash, permissions: '*' },
        { username: 'viewer', password: hash, permissions: 'read' },
      ],
    },
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
  });
  app.use('/', RED.httpAdmin);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await RED.start();
  fs.writeSync(1, `listening ${(server.address() as AddressInfo).port}\n`);
}

if (require.main === module) {
  runNodeRed(process.argv[2]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  describe('admin API with adminAuth (embedded Node-RED)', function () {
    this.timeout(120_000);
    let dir: string;
    let child: ChildProcess;
    let base: string;

    async function token(username: string, scope = '*'): Promise<string> {
      const res = await fetch(`${base}auth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: PASSWORD }),
      });
      assert.equal(res.status, 200, `login as ${username}`);
      return ((await res.json()) as { access_token: string }).access_token;
    }

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-auth-'));
      child = spawn(process.execPath, [__filename, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        child.stdout!.on('data', (chunk) => {
          text += chunk;
          const m = /listening (\d+)\n/.exec(text);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', (code) => reject(new Error(`Node-RED exited (${code}): ${stderr}`)));
      });
      base = `http://127.0.0.1:${port}/`;
      // The flow starts after the runtime: wait until the event log answers.
      const admin = await token('admin');
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${base}porchlight/events`, { headers: { Authorization: `Bearer ${admin}` } });
        if (res.status === 200) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the event-log node did not start');
    });

    after(async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const routes = [
      ['GET', 'porchlight/events'],
      ['GET', 'porchlight/events.csv'],
      ['GET', 'porchlight/events.json'],
      ['GET', 'porchlight/events/01JZ0000000000000000000000'],
      ['GET', 'porchlight/events/01JZ0000000000000000000000/snapshot.jpg'],
      ['GET', 'porchlight/events/01JZ0000000000000000000000/thumbnail.jpg'],
      ['GET', 'porchlight/events/01JZ0000000000000000000000/faces/1/crop.jpg'],
      ['DELETE', 'porchlight/events/01JZ0000000000000000000000'],
      ['GET', 'porchlight/metrics'],
      ['GET', 'porchlight/health'],
    ];

    it('answers 401 on every event-log route without a token', async () => {
      for (const [method, route] of routes) {
        const res = await fetch(`${base}${route}`, { method });
        assert.equal(res.status, 401, `${method} /${route}`);
      }
    });

    it('works with a token, and checks read against write permission', async () => {
      const admin = await token('admin');
      const viewer = await token('viewer', 'read');
      for (const [method, route] of routes) {
        const asAdmin = await fetch(`${base}${route}`, { method, headers: { Authorization: `Bearer ${admin}` } });
        assert.ok([200, 204, 404].includes(asAdmin.status), `${method} /${route} as admin: ${asAdmin.status}`);
        const asViewer = await fetch(`${base}${route}`, { method, headers: { Authorization: `Bearer ${viewer}` } });
        if (method === 'GET') assert.equal(asViewer.status, asAdmin.status, `${method} /${route} as viewer`);
        else assert.equal(asViewer.status, 401, `${method} /${route} needs porchlight.write`);
      }
      const events = await fetch(`${base}porchlight/events`, { headers: { Authorization: `Bearer ${viewer}` } });
      assert.deepEqual(await events.json(), { events: [], total: 0 });
    });
  });
}

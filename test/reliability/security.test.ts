import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ALL_NODES, allNodesFlow, ROUTES } from '../support/admin-routes';
import { startNodeRedWithAuth, type EmbeddedNodeRed } from '../support/embedded-node-red';
import { helper } from '../support/node-red';
import { lfwDir, nodeFile } from '../support/paths';
import { tempDir } from '../support/temp';

/** Answers to a signed-in caller that show the route ran (a 4xx here is the route refusing its input, not the caller). */
const RAN = [200, 201, 202, 204, 400, 404, 503];

describe('reliability: security', function () {
  this.timeout(180_000);

  describe('admin API with adminAuth (embedded Node-RED, every node deployed)', () => {
    let red: EmbeddedNodeRed;

    before(async () => {
      red = await startNodeRedWithAuth(ALL_NODES, allNodesFlow);
      await red.waitFor('porchlight/events');
    });

    after(async () => {
      await red?.stop();
    });

    /** One request's status; the body is not awaited (a live stream never ends). */
    async function call(route: string, bearer?: string): Promise<number> {
      const { url, body } = ROUTES[route];
      const method = route.split(' ')[0];
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(new Error(`${route}: no answer within 20 s`)), 20_000);
      const res = await fetch(`${red.base}${url}`, {
        method,
        signal: abort.signal,
        headers: { ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      clearTimeout(timer);
      abort.abort();
      return res.status;
    }

    it('knows every /porchlight/ route the runtime registered', () => {
      assert.ok(red.routes.length >= 20, `${red.routes.length} routes`);
      assert.deepEqual(red.routes.filter((r) => !(r in ROUTES)), [], 'a route this test does not check');
    });

    it('answers 401 on every route without a token, and with a forged one', async () => {
      for (const route of red.routes) {
        assert.equal(await call(route), 401, `${route} without a token`);
        assert.equal(await call(route, 'forged-token'), 401, `${route} with a forged token`);
      }
    });

    it('runs every route for the admin; the read-only user reads but is refused every write', async () => {
      const admin = await red.token('admin');
      const viewer = await red.token('viewer', 'read');
      for (const route of red.routes) {
        const asAdmin = await call(route, admin);
        assert.ok(RAN.includes(asAdmin), `${route} as admin: ${asAdmin}`);
        const asViewer = await call(route, viewer);
        if (ROUTES[route].write) assert.equal(asViewer, 401, `${route} needs porchlight.write`);
        else assert.equal(asViewer, asAdmin, `${route} as the read-only user`);
      }
    });
  });

  describe('no network egress', () => {
    const engine = require(nodeFile('porchlight-engine'));
    const db = require(nodeFile('porchlight-db'));
    const detect = require(nodeFile('face-detect'));
    const recognize = require(nodeFile('face-recognize'));
    const originalConnect = net.Socket.prototype.connect;
    const proxyVariables = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];
    const savedProxy = proxyVariables.map((name) => process.env[name]);
    const outgoing: string[] = [];
    let dir: string;

    /** The host a `socket.connect(...)` call aims at (undefined for a Unix socket). */
    function hostOf(args: unknown[]): string | undefined {
      const [first, second] = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
      if (first && typeof first === 'object') {
        const options = first as { host?: string; path?: string };
        return options.path ? undefined : (options.host ?? 'localhost');
      }
      if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined; // a pipe path
      return typeof second === 'string' ? second : 'localhost';
    }

    before(async () => {
      // A proxy that refuses every connection: a loopback port nobody listens on.
      const closed = net.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as net.AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      for (const name of proxyVariables) process.env[name] = `http://127.0.0.1:${port}`;
      net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
        const host = hostOf(args);
        if (host !== undefined && !['localhost', '127.0.0.1', '::1'].includes(host)) outgoing.push(host);
        return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
      } as typeof net.Socket.prototype.connect;
      dir = tempDir('porchlight-egress-');
    });

    after(async () => {
      net.Socket.prototype.connect = originalConnect;
      proxyVariables.forEach((name, i) => (savedProxy[i] === undefined ? delete process.env[name] : (process.env[name] = savedProxy[i])));
      await helper.unload();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('the guard sees an attempt to reach a non-loopback address', async () => {
      const socket = new net.Socket();
      socket.on('error', () => undefined);
      socket.connect(9, '192.0.2.1'); // TEST-NET-1: never routed
      socket.destroy();
      assert.deepEqual(outgoing.splice(0), ['192.0.2.1']);
    });

    it('detects and recognizes with outgoing connections refused, and opens no socket off this machine', async () => {
      const person = fs.readdirSync(lfwDir).sort().find((p) => fs.readdirSync(path.join(lfwDir, p)).length >= 2)!;
      const image = fs.readFileSync(path.join(lfwDir, person, fs.readdirSync(path.join(lfwDir, person)).sort()[0]));
      await helper.load([engine, db, detect, recognize], [
        { id: 'eng', type: 'porchlight-engine', threads: 1 },
        { id: 'db', type: 'porchlight-db', file: path.join(dir, 'porchlight.db'), snapshotDir: path.join(dir, 'snapshots') },
        { id: 'fd', type: 'porchlight-face-detect', engine: 'eng', minConfidence: 0.5, queuePolicy: 'wait', wires: [['fr'], ['fr']] },
        { id: 'fr', type: 'porchlight-face-recognize', engine: 'eng', db: 'db', burstFrames: 1, queuePolicy: 'wait', wires: [['out'], ['out'], ['out'], ['out']] },
        { id: 'out', type: 'helper' },
      ]);
      const verdict = new Promise<Record<string, any>>((resolve) => helper.getNode('out').once('input', resolve));
      helper.getNode('fd').receive({ payload: image });
      const msg = await verdict;
      assert.equal(msg.faces.length, 1, 'one face found');
      assert.equal(msg.verdict.status, 'unknown', 'matched against an empty face DB');
      assert.deepEqual(outgoing, [], 'no socket to a non-loopback address');
    });
  });
});

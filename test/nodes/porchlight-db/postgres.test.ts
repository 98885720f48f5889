import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pgClientConfig } from '../../../lib/store/postgres/connection';
import { startNodeRedWithAuth, type EmbeddedNodeRed } from '../../support/embedded-node-red';
import { helper } from '../../support/node-red';
import { lfwDir, nodeFile } from '../../support/paths';
import { createTestDatabase, emptyDatabase, requirePostgres, type TestDatabase } from '../../support/postgres';
import { TcpProxy } from '../../support/tcp-proxy';
import { tempDir } from '../../support/temp';
import { waitUntil } from '../../support/wait';

/** Two LFW images of one person: one to enroll, one to recognise. */
const PERSON = 'Colin_Powell';
const [ENROLL_IMAGE, PROBE_IMAGE] = fs.readdirSync(path.join(lfwDir, PERSON)).sort().map((f) => path.join(lfwDir, PERSON, f));

/**
 * One door: face-recognize behind an `http in` node (POST an image to
 * /api/recognize, get the verdict back), and the porchlight-db config node on
 * the shared PostgreSQL database, its password in the credentials file.
 */
function doorFlow(db: TestDatabase, door: string) {
  return (userDir: string) => {
    fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify({ db: { password: db.config.password } }));
    return [
      { id: 'tab', type: 'tab', label: door },
      { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 8, taskTimeout: 120, maxMegapixels: 40, backend: 'tfjs' },
      {
        id: 'db', type: 'porchlight-db', name: door, backend: 'postgres', pgHost: db.config.host, pgPort: db.config.port, pgDatabase: db.config.database,
        pgUser: db.config.user, pgSsl: 'off', file: path.join(userDir, 'local.db'), snapshotDir: path.join(userDir, 'snapshots'),
      },
      { id: 'in', type: 'http in', z: 'tab', url: '/recognize', method: 'post', wires: [['fr']] },
      {
        // face-api's descriptor at its classic 0.6, set by hand: what this test's people were picked against.
        id: 'fr', type: 'porchlight-face-recognize', z: 'tab', engine: 'eng', db: 'db', tolerance: 0.6, margin: 0.05, burstFrames: 1, burstMs: 10_000,
        certainty: 0.9, minQuality: 0.3, flip: false, queuePolicy: 'wait', wires: [['verdict'], ['verdict'], ['verdict'], ['verdict']],
      },
      { id: 'verdict', type: 'change', z: 'tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'verdict', tot: 'msg' }], wires: [['out']] },
      { id: 'out', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    ];
  };
}

interface Verdict {
  status: string;
  people: { name: string }[];
}

describe('two Node-RED runtimes in separate processes on one PostgreSQL database', function () {
  this.timeout(600_000);
  requirePostgres();
  let db: TestDatabase;
  let front: EmbeddedNodeRed;
  let back: EmbeddedNodeRed;

  before(async () => {
    db = await createTestDatabase('nodered');
    [front, back] = await Promise.all([startNodeRedWithAuth(['porchlight-engine', 'porchlight-db', 'face-recognize'], doorFlow(db, 'front')), startNodeRedWithAuth(['porchlight-engine', 'porchlight-db', 'face-recognize'], doorFlow(db, 'back'))]);
    await Promise.all([front.waitFor('porchlight/faces'), back.waitFor('porchlight/faces')]);
  });

  after(async () => {
    await Promise.all([front?.stop(), back?.stop()]);
    await db?.drop();
  });

  async function recognise(door: EmbeddedNodeRed, image: string): Promise<Verdict> {
    const res = await fetch(`${door.base}api/recognize`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: fs.readFileSync(image) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Verdict;
  }

  async function admin(door: EmbeddedNodeRed, method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${door.base}${route}`, {
      method,
      headers: { Authorization: `Bearer ${await door.token('admin')}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  }

  /** Recognises `image` at `door` until `status` comes back; resolves with how long after `since` the first request that got it was sent. */
  async function firstRequestWith(door: EmbeddedNodeRed, image: string, status: string, since: number): Promise<number> {
    for (;;) {
      const sentAt = performance.now();
      const verdict = await recognise(door, image);
      if (verdict.status === status) return sentAt - since;
      if (sentAt - since > 5000) assert.fail(`still ${verdict.status} after 5 s`);
    }
  }

  it('enroll at the front door, recognised at the back door within a second; forget at the front, gone at both', async () => {
    // The back door does not know them yet (this also loads its models).
    assert.equal((await recognise(back, PROBE_IMAGE)).status, 'unknown');

    const enrolled = await admin(front, 'POST', 'porchlight/faces', { name: PERSON, images: [fs.readFileSync(ENROLL_IMAGE).toString('base64')] });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.json));
    const enrolledAt = performance.now();
    const seenAfter = await firstRequestWith(back, PROBE_IMAGE, 'known', enrolledAt);
    assert.ok(seenAfter < 1000, `recognised at the other door by a request sent ${seenAfter.toFixed(0)} ms after the enrollment`);
    const verdict = await recognise(back, PROBE_IMAGE);
    assert.equal(verdict.status, 'known');
    assert.equal(verdict.people[0].name, PERSON);
    assert.deepEqual((await admin(back, 'GET', 'porchlight/faces')).json.people.map((p: { name: string }) => p.name), [PERSON]);

    const forgotten = await admin(front, 'DELETE', `porchlight/faces/by-name/${encodeURIComponent(PERSON)}`);
    assert.equal(forgotten.status, 200, JSON.stringify(forgotten.json));
    const forgottenAt = performance.now();
    const goneAfter = await firstRequestWith(back, PROBE_IMAGE, 'unknown', forgottenAt);
    assert.ok(goneAfter < 1000, `forgotten at the other door by a request sent ${goneAfter.toFixed(0)} ms after the forget`);
    for (const door of [front, back]) {
      assert.deepEqual((await admin(door, 'GET', 'porchlight/faces')).json.people, []);
      assert.equal((await recognise(door, PROBE_IMAGE)).status, 'unknown');
    }
    console.log(`      enrollment seen at the other door by a request sent ${seenAfter.toFixed(0)} ms after it; forget by one sent ${goneAfter.toFixed(0)} ms after it`);
  });
});

describe('porchlight-db config node on PostgreSQL (Node-RED runtime)', function () {
  this.timeout(120_000);
  requirePostgres();
  const porchlightDb = require(nodeFile('porchlight-db'));
  const faceDb = require(nodeFile('face-db'));
  const engine = require(nodeFile('porchlight-engine'));
  let db: TestDatabase;
  let dir: string;

  const flow = (port: number, name = 'door-a') => [
    { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 8, taskTimeout: 60, maxMegapixels: 40 },
    {
      id: 'pdb', type: 'porchlight-db', name, backend: 'postgres', pgHost: db.config.host, pgPort: port, pgDatabase: db.config.database,
      pgUser: db.config.user, pgSsl: 'off', file: path.join(dir, 'local.db'), snapshotDir: path.join(dir, 'snapshots'),
    },
    { id: 'fdb', type: 'porchlight-face-db', db: 'pdb', engine: 'eng', action: 'list', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
  const credentials = () => ({ pdb: { password: db.config.password } });

  /** Every status the face-db node shows from now on. */
  function statuses(): { text?: string; fill?: string }[] {
    const node = helper.getNode('fdb');
    const seen: { text?: string; fill?: string }[] = [];
    const original = node.status.bind(node);
    node.status = (status: { text?: string; fill?: string }) => {
      seen.push(status);
      return original(status);
    };
    return seen;
  }

  /** Sends `msg` to the face-db node; resolves with its output, rejects with its done(err). */
  function run(msg: Record<string, unknown>): Promise<any> {
    return new Promise((resolve, reject) => {
      const node = helper.getNode('fdb');
      const out = helper.getNode('out');
      const onMessage = (m: unknown) => {
        node.removeListener('call:error', onError);
        out.removeListener('input', onMessage);
        resolve(m);
      };
      const onError = (call: { args: unknown[] }) => {
        node.removeListener('call:error', onError);
        out.removeListener('input', onMessage);
        reject(call.args[0]);
      };
      out.on('input', onMessage);
      node.on('call:error', onError);
      node.receive(msg);
    });
  }

  before(async () => {
    db = await createTestDatabase('confignode');
    dir = tempDir('porchlight-pgnode-');
  });

  beforeEach(async () => {
    await emptyDatabase(db.config);
  });

  afterEach(async () => {
    await helper.unload();
  });

  after(async () => {
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes the password from the credentials store, opens the shared database and runs face-db actions on it', async () => {
    const nodes = flow(db.config.port!);
    await helper.load([engine, porchlightDb, faceDb], nodes, credentials());
    assert.ok(!/password/i.test(JSON.stringify(nodes)), 'no password in the flow');
    const config = helper.getNode('pdb') as unknown as { settings: { backend: string; postgres: { password?: string } } };
    assert.equal(config.settings.backend, 'postgres');
    assert.equal(config.settings.postgres.password, db.config.password);
    assert.deepEqual((await run({ action: 'list' })).payload, []);
    // A person enrolled by another door (straight into the database) is listed by this one.
    const other = new pg.Client(pgClientConfig(db.config));
    await other.connect();
    try {
      await other.query("INSERT INTO people (name, list, notes, created_at, updated_at) VALUES ('Zoe', 'known', '', 0, 0)");
    } finally {
      await other.end();
    }
    const listed = await run({ action: 'list' });
    assert.deepEqual(listed.payload.map((p: { name: string }) => p.name), ['Zoe']);
    const renamed = await run({ action: 'rename', name: 'Zoe', newName: 'Zoey' });
    assert.equal(renamed.payload.name, 'Zoey');
    assert.ok(fs.existsSync(path.join(dir, 'local.db')), 'the local file holds this door\'s own data');
  });

  it('shows "database unreachable" when the server is not there, errors go through done(err), and it comes up by itself when the server does', async () => {
    const proxy = await new TcpProxy(db.config.host, db.config.port!).listen();
    proxy.cut();
    try {
      await helper.load([engine, porchlightDb, faceDb], flow(proxy.port), credentials());
      const seen = statuses();
      await assert.rejects(run({ action: 'list' }), /database unreachable: postgres:\/\/porchlight_test@127\.0\.0\.1/);
      await waitUntil(() => seen.some((s) => s.fill === 'red' && /database unreachable/.test(s.text ?? '')), { timeout: 5000, message: 'red status' });
      proxy.restore();
      await waitUntil(() => seen.some((s) => /database reachable again/.test(s.text ?? '')), { timeout: 20_000, message: 'reachable status' });
      assert.deepEqual((await run({ action: 'list' })).payload, []);
    } finally {
      await helper.unload();
      await proxy.close();
    }
  });

  it('says so in the status when the connection drops at run time, and again when it is back', async () => {
    await helper.load([engine, porchlightDb, faceDb], flow(db.config.port!, 'door-drop'), credentials());
    await run({ action: 'list' });
    const seen = statuses();
    const admin = new pg.Client(pgClientConfig(db.config));
    await admin.connect();
    try {
      const killed = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'porchlight door-drop' AND query LIKE 'LISTEN%'");
      assert.equal(killed.rowCount, 1);
    } finally {
      await admin.end();
    }
    await waitUntil(() => seen.some((s) => /database unreachable/.test(s.text ?? '')), { timeout: 5000, message: 'unreachable status' });
    await waitUntil(() => seen.some((s) => /database reachable again/.test(s.text ?? '')), { timeout: 10_000, message: 'reachable status' });
    assert.deepEqual((await run({ action: 'list' })).payload, []);
  });
});

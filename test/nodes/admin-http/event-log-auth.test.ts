import assert from 'node:assert/strict';
import path from 'node:path';
import { startNodeRedWithAuth, type EmbeddedNodeRed } from '../../support/embedded-node-red';

describe('admin API with adminAuth (embedded Node-RED)', function () {
  this.timeout(120_000);
  let red: EmbeddedNodeRed;
  let base: string;
  const token = (username: 'admin' | 'viewer', scope?: string) => red.token(username, scope);

  before(async () => {
    red = await startNodeRedWithAuth(['event-log', 'porchlight-db'], (userDir) => [
      { id: 'tab', type: 'tab', label: 'log' },
      { id: 'db', type: 'porchlight-db', file: path.join(userDir, 'porchlight.db'), snapshotDir: path.join(userDir, 'snapshots') },
      { id: 'el', type: 'porchlight-event-log', z: 'tab', db: 'db', wires: [[], []] },
    ]);
    base = red.base;
    await red.waitFor('porchlight/events');
  });

  after(async () => {
    await red?.stop();
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

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRedWithAuth, type EmbeddedNodeRed } from '../../support/embedded-node-red';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../../support/postgres';
import { waitUntil } from '../../support/wait';

/** The verdict a flow without a camera reaches: nobody was seen. */
const DECIDE = "msg.verdict = { status: 'no_face', people: [], framesSeen: 0, latencyMs: 5 }; return msg;";

describe('two Node-RED runtimes in separate processes, one PostgreSQL event log (real PostgreSQL)', function () {
  this.timeout(180_000);
  requirePostgres();
  let database: TestDatabase;
  const runtimes: EmbeddedNodeRed[] = [];

  before(async () => {
    database = await createTestDatabase('events_processes');
  });
  after(async () => {
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.stop()));
    await database?.drop();
  });

  /** A door's Node-RED: a simulated button, a stand-in verdict, the event log on the shared PostgreSQL config. */
  function doorFlow(door: string) {
    const { host, port, database: db, user, password } = database.config;
    return (userDir: string) => {
      // The password in the credentials store (unencrypted: credentialSecret is off in this runtime).
      fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify({ db: { password } }));
      return [
        { id: 'tab', type: 'tab', label: door },
        { id: 'db', type: 'porchlight-db', backend: 'postgres', pgHost: host, pgPort: port, pgDatabase: db, pgUser: user, pgSsl: 'off', file: path.join(userDir, 'door.db'), snapshotDir: path.join(userDir, 'snapshots') },
        { id: 'bell', type: 'porchlight-gpio-doorbell', z: 'tab', backend: 'simulated', door, cooldown: 0, x: 100, y: 100, wires: [['decide', 'log'], []] },
        { id: 'decide', type: 'function', z: 'tab', func: DECIDE, outputs: 1, x: 300, y: 100, wires: [['log']] },
        { id: 'log', type: 'porchlight-event-log', z: 'tab', db: 'db', x: 500, y: 100, wires: [[], []] },
      ];
    };
  }

  async function press(runtime: EmbeddedNodeRed): Promise<string> {
    const token = await runtime.token('admin');
    const res = await fetch(`${runtime.base}porchlight/doorbell/bell/press`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 200);
    return ((await res.json()) as { event: { id: string } }).event.id;
  }

  async function events(runtime: EmbeddedNodeRed, query = ''): Promise<{ total: number; events: Array<{ id: string; door: string; status: string }> }> {
    const token = await runtime.token('viewer', 'read');
    const res = await fetch(`${runtime.base}porchlight/events?limit=100${query}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as { total: number; events: Array<{ id: string; door: string; status: string }> };
  }

  it('both write events; each runtime\'s API lists all of them, tagged by door, once each', async () => {
    const [front, garage] = await Promise.all([
      startNodeRedWithAuth(['gpio-doorbell', 'porchlight-db', 'event-log'], doorFlow('front')),
      startNodeRedWithAuth(['gpio-doorbell', 'porchlight-db', 'event-log'], doorFlow('garage')),
    ]);
    runtimes.push(front, garage);
    await Promise.all([front.waitFor('porchlight/events'), garage.waitFor('porchlight/events')]);

    const pressed = { front: [] as string[], garage: [] as string[] };
    for (let i = 0; i < 4; i++) {
      pressed.front.push(await press(front));
      pressed.garage.push(await press(garage));
      await new Promise((resolve) => setTimeout(resolve, 300)); // past the simulated 100 ms hold: each press its own event
    }
    const all = [...pressed.front, ...pressed.garage].sort();
    assert.equal(new Set(all).size, 8, 'eight presses, eight events');
    let total = 0;
    await waitUntil(async () => (total = (await events(front)).total) >= all.length, {
      timeout: 20_000,
      interval: 100,
      message: () => `the shared log to hold ${all.length} events (holds ${total})`,
    });
    for (const runtime of [front, garage]) {
      const page = await events(runtime);
      assert.equal(page.total, all.length);
      assert.deepEqual(page.events.map((e) => e.id).sort(), all);
      assert.ok(page.events.every((e) => e.status === 'completed'));
    }
    assert.deepEqual((await events(garage, '&door=front')).events.map((e) => e.id).sort(), [...pressed.front].sort());
    assert.deepEqual((await events(front, '&door=garage')).events.map((e) => e.door), ['garage', 'garage', 'garage', 'garage']);
  });
});

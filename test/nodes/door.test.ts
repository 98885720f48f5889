import assert from 'node:assert/strict';
import path from 'node:path';
import { EventLog } from '../../lib/eventlog/event-log';
import { parseEventFilter } from '../../lib/eventlog/filter';
import { newEventId } from '../../lib/events/event-id';
import type { SqliteStore } from '../../lib/store';
import { helper, nextMessage } from '../support/node-red';
import { nodeFile } from '../support/paths';
import { scratchStore } from '../support/scratch-store';

const HOUR = 3_600_000;

function pressAt(door: string | null, startedAt: number) {
  return { id: newEventId(startedAt), trigger: 'doorbell', startedAt, source: door === null ? { node: 'test' } : { node: 'test', door } };
}

describe('door tag: every event names the door it came from', function () {
  this.timeout(30_000);

  describe('gpio-doorbell (Node-RED runtime)', () => {
    const gpioDoorbell = require(nodeFile('gpio-doorbell'));
    afterEach(() => helper.unload());

    const pressOn = async (node: Record<string, unknown>) => {
      await helper.load(gpioDoorbell, [{ id: 'bell', type: 'porchlight-gpio-doorbell', backend: 'simulated', wires: [['press'], []], ...node }, { id: 'press', type: 'helper' }]);
      const got = nextMessage<Record<string, any>>(helper.getNode('press'), 5_000);
      helper.getNode('bell').receive({});
      return (await got).event.source.door;
    };

    it('carries its door field in msg.event.source.door, else its name, else none', async () => {
      assert.equal(await pressOn({ name: 'bell by the gate', door: ' back gate ' }), 'back gate');
      await helper.unload();
      assert.equal(await pressOn({ name: 'garage' }), 'garage');
      await helper.unload();
      assert.equal(await pressOn({}), null);
    });
  });

  describe('event log (lib, real SQLite file)', () => {
    let dir: string;
    let store: SqliteStore;
    let log: EventLog;

    beforeEach(() => {
      ({ dir, store } = scratchStore('porchlight-door-'));
      log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots'), door: 'porch' });
    });
    afterEach(async () => {
      await log.whenIdle();
      await store.close();
    });

    it('records the door through the lifecycle; the default door fills events that name none', async () => {
      const base = Date.parse('2026-11-01T08:00:00Z');
      const front = pressAt('front', base);
      const unnamed = pressAt(null, base + HOUR);
      await log.record({ event: front });
      await log.record({ event: front, verdict: { status: 'unknown', people: [] } });
      await log.record({ event: unnamed, error: { message: 'camera gone' } });
      assert.equal(log.get(front.id)!.door, 'front');
      assert.equal(log.get(unnamed.id)!.door, 'porch', 'the event-log node serves the porch: an event without a door is the porch\'s');
      assert.equal(log.get(unnamed.id)!.status, 'failed');
    });

    it('queries by door, alone and with a person, time or verdict; a door no one used matches nothing', async () => {
      const base = Date.parse('2026-11-02T08:00:00Z');
      const doors = ['front', 'garage', 'back gate'];
      for (let i = 0; i < 12; i++) {
        const event = pressAt(doors[i % 3], base + i * HOUR);
        const people = i % 2 === 0 ? [{ personId: 1, name: 'Alice', list: 'known', distance: 0.3 }] : [];
        await log.record({ event, verdict: { status: people.length ? 'known' : 'unknown', people } });
      }
      const page = log.repository.query(parseEventFilter({ door: 'garage' }));
      assert.equal(page.total, 4);
      assert.ok(page.events.every((e) => e.door === 'garage'));
      // Alice came at even hours: front (0, 6), back gate (2, 8), garage (4, 10).
      assert.deepEqual(log.repository.query({ door: 'front', person: 'alice' }).events.map((e) => e.startedAt), [base + 6 * HOUR, base]);
      assert.equal(log.repository.query({ door: 'back gate', verdict: 'unknown' }).total, 2);
      assert.equal(log.repository.query({ door: 'garage', since: base + 5 * HOUR }).total, 2);
      assert.equal(log.repository.query({ door: 'Garage' }).total, 0, 'door names are matched exactly');
      assert.equal(log.repository.query({ door: "front' OR 1=1 --" }).total, 0);
      assert.equal(log.repository.query({}).total, 12);
    });

    it('the filter refuses a door that is not a short text', () => {
      assert.deepEqual(parseEventFilter({ door: 'front' }), { door: 'front' });
      assert.deepEqual(parseEventFilter({ door: '' }), {}, 'an empty door is no filter');
      assert.throws(() => parseEventFilter({ door: 7 }), /door must be/);
      assert.throws(() => parseEventFilter({ door: 'x'.repeat(101) }), /door must be/);
    });
  });
});

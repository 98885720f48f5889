import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isPorchlightError } from '../../../lib/errors';
import { closeLog, EventLog, finishedStatus, handleLogMessage, localReader, sweepText, UNFINISHED_AT_CLOSE, type RecordOutcome } from '../../../lib/eventlog';
import { newEventId } from '../../../lib/events/event-id';
import { openSqliteStore, type SqliteStore } from '../../../lib/store';
import { lfwImage } from '../../support/paths';
import { tempDir } from '../../support/temp';

/** What a message means for the log (lib/eventlog/messages.ts), on a real SQLite log with a real LFW photo, without Node-RED. */
describe('event-log messages (lib/eventlog handleLogMessage)', function () {
  this.timeout(30_000);
  let dir: string;
  let store: SqliteStore;
  let log: EventLog;

  beforeEach(() => {
    dir = tempDir('porchlight-log-messages-');
    store = openSqliteStore(path.join(dir, 'porchlight.db'));
    log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots'), door: 'front' });
  });
  afterEach(async () => {
    await log.stop();
    await store.close();
  });

  const handle = (msg: Record<string, unknown>) => handleLogMessage(log, localReader(log), msg, { node: 'test' });
  const face = { box: { x: 75, y: 70, width: 100, height: 120 }, score: 0.98, quality: 0.8, match: null, status: 'unknown' };

  it('a press and a frame leave by no output; the verdict leaves by output 2 with msg.eventLog and its status', async () => {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'gpio' } };
    assert.deepEqual(await handle({ event }), {});
    assert.deepEqual(await handle({ event, payload: fs.readFileSync(lfwImage('Aaron_Eckhart', 1)), frame: { seq: 0 }, faces: [face] }), {});
    const msg: Record<string, unknown> = { event, faces: [face], verdict: { status: 'unknown', people: [], framesSeen: 1, latencyMs: 90 } };
    const reply = await handle(msg);
    assert.equal(reply.output, 1);
    assert.deepEqual(reply.status, { tone: 'ready', text: `unknown · ${event.id.slice(-6)}` });
    assert.deepEqual(msg.eventLog, { id: event.id, status: 'completed', verdict: 'unknown', hasSnapshot: true, snapshotUrl: `porchlight/events/${event.id}/snapshot.jpg` });
  });

  it('a Catch node\'s error fails the event: output 2, a yellow status, no snapshot path', async () => {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    await handle({ event });
    const msg: Record<string, unknown> = { event, error: { message: 'camera gone', source: { type: 'porchlight-frame-buffer' } } };
    const reply = await handle(msg);
    assert.equal(reply.output, 1);
    assert.deepEqual(reply.status, { tone: 'warn', text: `failed · ${event.id.slice(-6)}` });
    assert.equal((msg.eventLog as { status: string }).status, 'failed');
    assert.equal((msg.eventLog as { snapshotUrl?: string }).snapshotUrl, undefined);
  });

  it('query, export and sweep answer by output 1 in msg.payload; an unknown action is bad input', async () => {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    await handle({ event });
    const query: Record<string, unknown> = { action: 'query', filter: { status: 'created' } };
    assert.deepEqual(await handle(query), { output: 0 });
    assert.deepEqual((query.payload as { events: Array<{ id: string }> }).events.map((e) => e.id), [event.id]);
    const exported: Record<string, unknown> = { action: 'export', format: 'json', payload: {} };
    assert.deepEqual(await handle(exported), { output: 0 });
    assert.equal(exported.format, 'json');
    assert.equal(JSON.parse(exported.payload as string)[0].id, event.id);
    const csv: Record<string, unknown> = { action: 'export' };
    await handle(csv);
    assert.equal(csv.format, 'csv');
    assert.match(csv.payload as string, new RegExp(event.id));
    const sweep: Record<string, unknown> = { action: 'sweep' };
    assert.deepEqual(await handle(sweep), { output: 0 });
    assert.equal(typeof (sweep.payload as { eventsDeleted: number }).eventsDeleted, 'number');
    await assert.rejects(handle({ action: 'drop' }), (err: unknown) => isPorchlightError(err) && err.code === 'BAD_INPUT' && /unknown msg.action "drop"/.test(err.message));
    await assert.rejects(handle({ action: 'query', filter: { status: 'sideways' } }), (err: unknown) => isPorchlightError(err) && err.code === 'BAD_INPUT');
  });

  it('a snapshot not kept: "no snapshot" in yellow, the reason without the event id (told once, not per event)', () => {
    const id = newEventId();
    const stored = { id, status: 'completed', verdict: 'known', hasSnapshot: false } as never;
    const outcome = { kind: 'verdict', event: { id }, snapshot: { written: false, reason: `disk full writing ${id}.jpg` } } as unknown as RecordOutcome;
    assert.deepEqual(finishedStatus(stored, outcome), { tone: 'warn', text: 'known · no snapshot', detail: 'no snapshot kept: disk full writing <event>.jpg' });
    const blacklisted = { id, status: 'completed', verdict: 'blacklisted_person', hasSnapshot: true } as never;
    assert.equal(finishedStatus(blacklisted, { kind: 'verdict', event: { id } } as unknown as RecordOutcome).text, `blacklisted person · ${id.slice(-6)}`);
  });

  it('sweepText says what a sweep did, nothing when it did nothing', () => {
    assert.equal(sweepText({ eventsDeleted: 0, snapshotsRemoved: 0, cropsDropped: 0, unfinishedFailed: 0 }), '');
    assert.equal(sweepText({ eventsDeleted: 3, snapshotsRemoved: 2, cropsDropped: 0, unfinishedFailed: 1 }), 'retention: 3 expired, 2 snapshots removed, 1 unfinished failed');
  });

  it('closeLog records the unfinished events as failed and says how many', async () => {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    await handle({ event });
    assert.deepEqual(await closeLog(log), [{ level: 'log', text: `1 unfinished event(s) recorded failed: ${UNFINISHED_AT_CLOSE}` }]);
    const row = store.db.prepare('SELECT status FROM events WHERE id = ?').get(event.id) as { status: string };
    assert.equal(row.status, 'failed');
    assert.deepEqual(await closeLog(log), [], 'nothing left the second time');
  });
});

/**
 * The shared event log on PostgreSQL: how fast a door's finished
 * events reach it. Events carry two faces with 4 KB crops and a snapshot with
 * its thumbnail (drawn once from an LFW photo, about 20 KB together), like a
 * real visit. Measured in the same run: the local SQLite insert rate of those
 * events (the write path, the baseline), the rate at which a 1,000-event
 * backlog drains into PostgreSQL (and its flush time), and the latency from a
 * verdict committed locally to the event committed in PostgreSQL when the
 * replicator is nudged by each event. Needs PORCHLIGHT_TEST_PG_URL (a role
 * that may create databases, as `.ci/run` sets up); skipped without it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { renderEventImages } from '../../lib/eventlog';
import { newEventId } from '../../lib/events';
import { runPgMigrations } from '../../lib/store';
import { lfwImage } from '../../test/support/paths';
import { closeDoor, openDoor } from '../../test/support/door';
import { createTestDatabase } from '../../test/support/postgres';
import { latency, postgresSection, type Measurement } from '../types';

const PEOPLE = [{ personId: '1', name: 'Alice', list: 'known' }, { personId: '2', name: 'Bob', list: 'known' }];

const section = postgresSection('events-pg', async ({ quick }) => {
  const database = await createTestDatabase('bench_events');
  // Not started: the replicator sends only when the timed flush() asks.
  const door = openDoor('front', database.config, { start: false });
  const { log: eventLog, outbox, replicator, pool } = door;
  const results: Measurement[] = [];
  try {
    await runPgMigrations(pool);
    outbox.enable(Date.now());
    const crop = randomBytes(4096);
    const faces = [0, 1].map((i) => ({ box: { x: 20 + i * 120, y: 40, width: 100, height: 120 }, score: 0.95, quality: 0.8, crop, ...PEOPLE[i], distance: 0.4, confidence: 0.8 }));
    const images = await renderEventImages(fs.readFileSync(lfwImage('Aaron_Eckhart', 1)), []);
    const imageBytes = images.snapshot.length + images.thumbnail.length;

    /** A visit through the local write path: press, snapshot files, verdict with people and faces. */
    const visit = async () => {
      const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { door: 'front' } };
      eventLog.repository.recordPress(event, Date.now());
      const bytes = await eventLog.snapshots.save(event.id, images);
      eventLog.repository.recordVerdict(event, { status: 'known', people: PEOPLE, framesSeen: 5, latencyMs: 300 }, PEOPLE, faces, Date.now(), {}, bytes);
    };

    // The write path and the backlog: N visits while the shared log is not being written.
    const backlog = quick ? 200 : 1000;
    let started = performance.now();
    for (let i = 0; i < backlog; i++) await visit();
    const sqliteRate = backlog / ((performance.now() - started) / 1000);
    if (outbox.backlog() !== backlog) throw new Error(`outbox holds ${outbox.backlog()}, expected ${backlog}`);

    started = performance.now();
    await replicator.flush();
    const flushMs = performance.now() - started;
    const replicationRate = backlog / (flushMs / 1000);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    if (rows[0].n !== backlog) throw new Error(`shared log holds ${rows[0].n}, expected ${backlog}`);

    results.push({ name: 'local SQLite write path (press + snapshot files + verdict with 2 faces)', kind: 'value', value: sqliteRate, unit: 'events/s', note: 'baseline' });
    results.push({ name: 'replication into PostgreSQL, backlog drained in batches of 100', kind: 'value', value: replicationRate, unit: 'events/s',
      note: `${(replicationRate / sqliteRate).toFixed(2)}x the local write rate; ${(imageBytes / 1024).toFixed(0)} KB of pictures + 8 KB of crops per event` });
    results.push({ name: `flush of a ${backlog}-event backlog`, kind: 'value', value: flushMs, unit: 'ms' });

    // Steady state: each verdict nudges the replicator; time until PostgreSQL has the event.
    const lags: number[] = [];
    for (let i = 0; i < (quick ? 30 : 200); i++) {
      await visit();
      const t = performance.now();
      await replicator.flush();
      lags.push(performance.now() - t);
    }
    results.push(latency('verdict committed locally -> event committed in PostgreSQL (one event per batch)', lags));
  } finally {
    await closeDoor(door);
    await database.drop();
  }
  return results;
});

export default section;

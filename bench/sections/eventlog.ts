/**
 * Event log figures: the insert rate of completed events with faces (press +
 * verdict, each its own commit, on the store's WAL/NORMAL connection) against
 * a bare one-row-per-commit insert measured on the same file settings; the
 * snapshot (decode, draw, thumbnail, crops, write) of a 1280x720 frame; and
 * query latencies over 100,000 stored events against a primary-key lookup.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { EventLog, type FaceRecord, RETENTION_BATCH } from '../../lib/eventlog';
import { newEventId } from '../../lib/events';
import { openSqliteStore } from '../../lib/store';
import { lfwImage } from '../../test/support/paths';
import { latency, type BenchSection, type Measurement } from '../types';

const DAY = 24 * 60 * 60 * 1000;
const PEOPLE = Array.from({ length: 50 }, (_, i) => ({ personId: i + 1, name: `Person ${i + 1}`, list: i < 45 ? 'known' : 'blacklist' }));

function timeEach(samples: number, run: (i: number) => void): number[] {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    run(i);
    times.push(performance.now() - started);
  }
  return times;
}

const section: BenchSection = {
  name: 'eventlog',
  async run({ quick, log }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-bench-eventlog-'));
    const store = openSqliteStore(path.join(dir, 'porchlight.db'));
    const eventLog = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots') });
    const repo = eventLog.repository;
    const results: Measurement[] = [];
    try {
      // Baseline: one bare row per commit, same file and pragmas.
      store.db.exec('CREATE TABLE bench_baseline (id TEXT PRIMARY KEY, at INTEGER)');
      const bare = store.db.prepare('INSERT INTO bench_baseline VALUES (?, ?)');
      const baselineCount = quick ? 500 : 5000;
      let started = performance.now();
      for (let i = 0; i < baselineCount; i++) bare.run(newEventId(), Date.now());
      const baselineRate = baselineCount / ((performance.now() - started) / 1000);

      // Completed events with two faces (4 KB crops) through the node's own path: press, then verdict.
      const crop = randomBytes(4096);
      const faces = [0, 1].map((i) => ({ box: { x: 100 + i * 300, y: 120, width: 160, height: 190 }, score: 0.95, quality: 0.8, crop, match: { ...PEOPLE[i], distance: 0.4, confidence: 0.8 } }));
      const eventCount = quick ? 300 : 3000;
      started = performance.now();
      for (let i = 0; i < eventCount; i++) {
        const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
        await eventLog.record({ event });
        await eventLog.record({ event, verdict: { status: 'known', people: [PEOPLE[0], PEOPLE[1]], framesSeen: 5, latencyMs: 300 }, faces });
      }
      const eventRate = eventCount / ((performance.now() - started) / 1000);
      results.push({ name: 'insert completed events (2 faces, press + verdict commits)', kind: 'value', value: eventRate, unit: 'events/s', note: `${(eventRate / baselineRate).toFixed(2)}x the bare 1-row commit rate` });
      results.push({ name: 'baseline: bare 1-row insert per commit', kind: 'value', value: baselineRate, unit: 'rows/s' });

      // Snapshot of a 1280x720 frame: decode, boxes and names, thumbnail, crops, atomic write.
      const frame = await sharp(lfwImage('Aaron_Eckhart', 1)).resize(1280, 720, { fit: 'cover' }).jpeg({ quality: 85 }).toBuffer();
      const snapshotTimes: number[] = [];
      for (let i = 0; i < (quick ? 5 : 30); i++) {
        const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
        const t = performance.now();
        const outcome = await eventLog.record({ event, payload: frame, verdict: { status: 'unknown', people: [] }, faces: faces.map((f) => ({ ...f, crop: undefined })) });
        snapshotTimes.push(performance.now() - t);
        if (!outcome.snapshot?.written) throw new Error('snapshot not written');
      }
      results.push(latency('verdict with snapshot, 1280x720 (draw, thumbnail, crops, write)', snapshotTimes));

      // Fill to 100,000 events over 90 days: 40 % known, 10 % blacklisted, the rest unknown; one face each.
      const total = 100_000;
      const now = Date.now();
      const fill = store.db.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++) {
          const startedAt = now - Math.floor(((total - i) / total) * 90 * DAY);
          const event = { id: newEventId(startedAt), trigger: 'doorbell', startedAt, source: {} };
          const r = i % 10;
          const person = PEOPLE[r < 4 ? i % 45 : 45 + (i % 5)];
          const status = r < 4 ? 'known' : r === 4 ? 'blacklisted' : 'unknown';
          const people = status === 'unknown' ? [] : [{ ...person, distance: 0.4 }];
          const face: FaceRecord = { box: faces[0].box, score: 0.9, ...(status === 'unknown' ? {} : { ...person, distance: 0.4 }) };
          repo.recordVerdict(event, { status, people, latencyMs: 300 }, people, [face], startedAt + 300);
        }
      });
      started = performance.now();
      for (let at = repo.count(); at < total; at += 5000) {
        fill(at, Math.min(total, at + 5000));
        await new Promise((resolve) => setImmediate(resolve));
      }
      log(`  filled ${repo.count()} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      store.db.pragma('optimize');

      const samples = quick ? 30 : 300;
      const ids = repo.query({ limit: 1000, offset: 20_000 }).events.map((e) => e.id);
      const lookup = timeEach(samples, (i) => repo.get(ids[i % ids.length]));
      const lookupP50 = latency('x', lookup).kind === 'latency' ? (latency('x', lookup) as { p50: number }).p50 : NaN;
      const queries: Array<[string, (i: number) => void]> = [
        ['query: last 24 h (page of 50 + total)', () => repo.query({ since: now - DAY, until: now })],
        ['query: by person (page of 50 + total)', (i) => repo.query({ person: PEOPLE[i % 50].name })],
        ['query: by person id, last 30 days', (i) => repo.query({ person: String((i % 50) + 1), since: now - 30 * DAY })],
        ['query: verdict unknown, last 7 days', () => repo.query({ verdict: 'unknown', since: now - 7 * DAY })],
        ['query: newest page, no filter (total of all)', () => repo.query({})],
        ['query: page at offset 5,000', () => repo.query({ offset: 5000 })],
      ];
      for (const [name, run] of queries) {
        const times = timeEach(samples, run);
        const m = latency(name, times);
        results.push({ ...m, note: `over ${repo.count()} events; ${((m as { p50: number }).p50 / lookupP50).toFixed(1)}x a primary-key get` });
      }
      results.push(latency('baseline: get one event by id (with faces)', lookup));

      // Event-loop delay baseline, in the same run: 2 s of 1 ms CPU slices with setImmediate between
      // (a loop that never blocks), so what remains is the machine's own scheduling noise.
      const idle = monitorEventLoopDelay({ resolution: 1 });
      idle.enable();
      const until = performance.now() + 2000;
      while (performance.now() < until) {
        const slice = performance.now() + 1;
        while (performance.now() < slice);
        await new Promise((resolve) => setImmediate(resolve));
      }
      idle.disable();

      // Retention over the 100,000: unknown visitors older than 7 days and known ones older than 30 go, in batches.
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      const before = repo.count();
      histogram.enable();
      started = performance.now();
      const report = await eventLog.sweep();
      const sweepMs = performance.now() - started;
      histogram.disable();
      results.push({
        name: 'retention sweep: events deleted per second',
        kind: 'value',
        value: report.eventsDeleted / (sweepMs / 1000),
        unit: 'events/s',
        note: `${report.eventsDeleted} of ${before} deleted in ${(sweepMs / 1000).toFixed(1)} s`,
      });
      results.push({
        name: 'retention sweep: event-loop delay p99 / max',
        kind: 'value',
        value: histogram.percentile(99) / 1e6,
        unit: 'ms',
        note: `max ${(histogram.max / 1e6).toFixed(1)} ms, batches of ${RETENTION_BATCH}; busy-loop baseline p99 ${(idle.percentile(99) / 1e6).toFixed(1)} ms, max ${(idle.max / 1e6).toFixed(1)} ms`,
      });
    } finally {
      await eventLog.whenIdle();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return results;
  },
};

export default section;

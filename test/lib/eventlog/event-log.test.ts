import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import sinon from 'sinon';
import { EventLog } from '../../../lib/eventlog/event-log';
import { exportEvents } from '../../../lib/eventlog/export';
import { parseEventFilter } from '../../../lib/eventlog/filter';
import { DEFAULT_RETENTION, RETENTION_BATCH, type RetentionPolicy } from '../../../lib/eventlog/retention';
import { isFileSafeEventId, overlaySvg } from '../../../lib/eventlog/snapshot';
import { newEventId } from '../../../lib/events/event-id';
import type { SqliteStore } from '../../../lib/store';
import { lfwImage } from '../../support/paths';
import { scratchStore } from '../../support/scratch-store';
import { waitUntil } from '../../support/wait';

const DAY = 24 * 60 * 60 * 1000;
/** Where the face sits in LFW's deep-funneled 250x250 images. */
const LFW_FACE = { x: 75, y: 70, width: 100, height: 120 };

function eventAt(startedAt: number, id = newEventId(startedAt)) {
  return { id, trigger: 'doorbell', startedAt, source: { node: 'test' } };
}

function face(name: string | null, list: string | null, distance: number | null) {
  return { box: LFW_FACE, score: 0.97, quality: { score: 0.8 }, match: { personId: name ? `p-${name}` : null, name, list, distance, confidence: 0.9 } };
}

function policy(overrides: Partial<RetentionPolicy> = {}): RetentionPolicy {
  return { ...DEFAULT_RETENTION, maxAgeDays: { ...DEFAULT_RETENTION.maxAgeDays }, ...overrides };
}

async function pixel(jpeg: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i], data[i + 1], data[i + 2]];
}

describe('event log (lib, on a real SQLite file)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: SqliteStore;
  let log: EventLog;

  beforeEach(() => {
    ({ dir, store } = scratchStore('porchlight-eventlog-'));
    log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots'), retention: policy() });
  });

  afterEach(async () => {
    sinon.restore();
    await log.whenIdle();
    await store.close();
  });

  it('follows an event from press to frames to verdict, with an annotated snapshot, thumbnail and crops', async () => {
    const event = eventAt(Date.now() - 1500);
    const frame = fs.readFileSync(lfwImage('Aaron_Eckhart', 1));

    assert.equal((await log.record({ event })).kind, 'press');
    assert.equal(log.get(event.id)?.status, 'created');

    await log.record({ event, payload: frame, frame: { seq: 0, capturedAt: Date.now(), width: 250, height: 250, preRoll: true }, faces: [face(null, null, null)] });
    await log.record({ event, payload: frame, frame: { seq: 1, capturedAt: Date.now(), width: 250, height: 250, preRoll: false } });
    const processing = log.get(event.id)!;
    assert.equal(processing.status, 'processing');
    assert.equal(processing.framesSeen, 2);

    const verdict = { status: 'known', people: [{ personId: 7, name: 'Aaron', list: 'known', distance: 0.41 }], framesSeen: 2, decidedAt: Date.now(), latencyMs: 480 };
    const outcome = await log.record({ event, verdict, faces: [face('Aaron', 'known', 0.41)] });
    assert.equal(outcome.kind, 'verdict');
    assert.deepEqual(outcome.snapshot && outcome.snapshot.written, true);

    const done = log.get(event.id)!;
    assert.equal(done.status, 'completed');
    assert.equal(done.verdict, 'known');
    assert.equal(done.processingMs, 480);
    assert.deepEqual(done.people, [{ personId: 7, name: 'Aaron', list: 'known', distance: 0.41 }]);
    assert.equal(done.hasSnapshot, true);
    assert.equal(done.faces.length, 1);
    assert.deepEqual(done.faces[0].box, LFW_FACE);
    assert.equal(done.faces[0].name, 'Aaron');
    assert.equal(done.faces[0].distance, 0.41);
    assert.equal(done.faces[0].hasCrop, true, 'a crop is cut from the frame when the detector sent none');

    const snapshot = (await log.snapshots.read(event.id, 'snapshot'))!;
    const meta = await sharp(snapshot).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.deepEqual([meta.width, meta.height], [250, 250]);
    // The box's left edge is drawn in the "known" green; the original pixel there is not green.
    const [r, g, b] = await pixel(snapshot, LFW_FACE.x, LFW_FACE.y + 80);
    assert.ok(g > r + 40 && g > b + 40, `box edge should be green, got ${[r, g, b]}`);
    const [r0, g0] = await pixel(frame, LFW_FACE.x, LFW_FACE.y + 80);
    assert.ok(!(g0 > r0 + 40), 'the source frame has no green there');

    const thumbnail = (await log.snapshots.read(event.id, 'thumbnail'))!;
    assert.ok((await sharp(thumbnail).metadata()).width! <= 320);
    const crop = store.db.prepare('SELECT crop FROM event_faces WHERE event_id = ?').get(event.id) as { crop: Buffer };
    assert.equal((await sharp(crop.crop).metadata()).format, 'jpeg');
  });

  it('uses the best frame (highest face quality) when the verdict carries no image', async () => {
    const event = eventAt(Date.now());
    const blurry = await sharp(fs.readFileSync(lfwImage('Aaron_Eckhart', 1))).blur(6).jpeg().toBuffer();
    const sharpFrame = fs.readFileSync(lfwImage('Aaron_Eckhart', 1));
    await log.record({ event, payload: blurry, frame: { seq: 0 }, faces: [{ ...face(null, null, null), quality: 0.2 }] });
    await log.record({ event, payload: sharpFrame, frame: { seq: 1 }, faces: [{ ...face(null, null, null), quality: 0.9 }] });
    await log.record({ event, payload: blurry, frame: { seq: 2 }, faces: [{ ...face(null, null, null), quality: 0.3 }] });
    await log.record({ event, verdict: { status: 'unknown', people: [], framesSeen: 3 } });
    const stored = log.get(event.id)!;
    assert.equal(stored.faces[0].frameSeq, 1);
    const snapshot = (await log.snapshots.read(event.id, 'snapshot'))!;
    // The sharp frame has far more detail (pixel variance) than the blurred ones.
    const stats = await sharp(snapshot).stats();
    const blurStats = await sharp(blurry).stats();
    assert.ok(stats.sharpness > blurStats.sharpness * 2, `snapshot sharpness ${stats.sharpness} vs blurred ${blurStats.sharpness}`);
  });

  it('marks an event failed from an error, completes it when a verdict still comes, and keeps a verdict over a later error', async () => {
    const event = eventAt(Date.now());
    await log.record({ event });
    await log.record({ event, error: { message: 'corrupt jpeg image: premature end', source: { id: 'n1', type: 'porchlight-face-detect', name: 'detect' } } });
    let stored = log.get(event.id)!;
    assert.equal(stored.status, 'failed');
    assert.equal(stored.errorMessage, 'corrupt jpeg image: premature end (from detect)');

    await log.record({ event, verdict: { status: 'no_face', people: [], framesSeen: 4 } });
    stored = log.get(event.id)!;
    assert.equal(stored.status, 'completed');
    assert.equal(stored.verdict, 'no_face');
    assert.match(stored.errorMessage!, /premature end/);

    await log.record({ event, error: { message: 'telegram: 502' } });
    stored = log.get(event.id)!;
    assert.equal(stored.status, 'completed');
    assert.match(stored.errorMessage!, /premature end.*; telegram: 502/);
  });

  it('completes the event without a snapshot when the frame cannot be drawn or the folder cannot be written', async () => {
    const broken = eventAt(Date.now());
    const truncated = fs.readFileSync(lfwImage('Aaron_Eckhart', 1)).subarray(0, 2000);
    const outcome = await log.record({ event: broken, payload: truncated, verdict: { status: 'unknown', people: [] }, faces: [face(null, null, null)] });
    assert.equal(outcome.snapshot?.written, false);
    assert.match((outcome.snapshot as { reason: string }).reason, /^snapshot failed: corrupt jpeg image/);
    assert.deepEqual([log.get(broken.id)!.status, log.get(broken.id)!.hasSnapshot, log.get(broken.id)!.faces.length], ['completed', false, 1]);

    // The snapshot folder's path is taken by a file: writing fails like a full or read-only disk would.
    fs.writeFileSync(path.join(dir, 'not-a-folder'), 'x');
    const blocked = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'not-a-folder'), retention: policy() });
    const event = eventAt(Date.now());
    const result = await blocked.record({ event, payload: fs.readFileSync(lfwImage('Aaron_Eckhart', 1)), verdict: { status: 'unknown', people: [] } });
    assert.match((result.snapshot as { reason: string }).reason, /^snapshot failed: .*(EEXIST|ENOTDIR)/);
    assert.deepEqual([log.get(event.id)!.status, log.get(event.id)!.hasSnapshot], ['completed', false]);
  });

  it('records an error that arrives without an event as a new failed event', async () => {
    const outcome = await log.record({ error: { message: 'boom' } });
    const stored = log.get(outcome.event.id)!;
    assert.equal(stored.status, 'failed');
    assert.equal(stored.trigger, 'error');
  });

  it('refuses a verdict with an unknown status', async () => {
    await assert.rejects(log.record({ event: eventAt(Date.now()), verdict: { status: 'maybe' } }), /msg\.verdict\.status must be one of/);
  });

  describe('queries', () => {
    const base = Date.UTC(2026, 0, 1);
    const ids: Record<string, string> = {};

    beforeEach(async () => {
      // 30 events, one per hour: every third is Alice (known), every fifth Mallory (blacklisted), the rest unknown.
      for (let i = 0; i < 30; i++) {
        const event = eventAt(base + i * 3_600_000);
        ids[i] = event.id;
        const people = i % 3 === 0 ? [{ personId: 1, name: 'Alice', list: 'known', distance: 0.3 }] : i % 5 === 0 ? [{ personId: 2, name: 'Mallory', list: 'blacklist', distance: 0.35 }] : [];
        const status = i % 3 === 0 ? 'known' : i % 5 === 0 ? 'blacklisted' : 'unknown';
        await log.record({ event });
        if (i === 29) continue; // the newest stays "created"
        await log.record({ event, verdict: { status, people, framesSeen: 1, latencyMs: 100 + i } });
      }
    });

    it('filters by time range, status, verdict and person, newest first, with the total for paging', () => {
      const all = log.repository.query({});
      assert.equal(all.total, 30);
      assert.equal(all.events.length, 30);
      assert.equal(all.events[0].id, ids[29]);

      const range = log.repository.query({ since: base + 10 * 3_600_000, until: base + 19 * 3_600_000 });
      assert.equal(range.total, 10);
      assert.deepEqual(range.events.map((e) => e.id), [19, 18, 17, 16, 15, 14, 13, 12, 11, 10].map((i) => ids[i]));

      assert.equal(log.repository.query({ status: 'created' }).total, 1);
      assert.equal(log.repository.query({ verdict: 'known' }).total, 10);
      assert.equal(log.repository.query({ verdict: 'blacklisted' }).total, 4); // 5, 10, 20, 25 (not 0 or 15: those are Alice's)
      const alice = log.repository.query({ person: 'alice' });
      assert.equal(alice.total, 10, 'names match case-insensitively');
      assert.ok(alice.events.every((e) => e.people[0].name === 'Alice'));
      assert.equal(log.repository.query(parseEventFilter({ personId: '2' })).total, 4, 'a person id, by personId');
      assert.equal(log.repository.query(parseEventFilter({ person: '2' })).total, 0, 'person is a name, never an id');
      assert.throws(() => parseEventFilter({ person: 'Alice', personId: '2' }), /not both/);
      assert.equal(log.repository.query({ person: 'Alice', since: base + 12 * 3_600_000 }).total, 6);
      assert.equal(log.repository.query({ person: 'Mallory', verdict: 'blacklisted' }).total, 4);
      assert.equal(log.repository.query({ person: 'Mallory', verdict: 'known' }).total, 0);
      assert.equal(log.repository.query({ person: 'Mallory', status: 'completed' }).total, 4);
      assert.equal(log.repository.query({ person: 'Mallory', status: 'created' }).total, 0);
      const alicePage = log.repository.query({ person: 'Alice', limit: 3, offset: 3 });
      assert.deepEqual(alicePage.events.map((e) => e.id), [18, 15, 12].map((i) => ids[i]));

      const page1 = log.repository.query({ limit: 7 });
      const page2 = log.repository.query({ limit: 7, offset: 7 });
      assert.equal(page1.events.length, 7);
      assert.equal(page2.total, 30);
      assert.deepEqual(page2.events.map((e) => e.id), [22, 21, 20, 19, 18, 17, 16].map((i) => ids[i]));
      // limit=0 is the count alone (it gave one event), through the filter parser as the routes use it.
      assert.deepEqual(log.repository.query(parseEventFilter({ limit: '0' })), { events: [], total: 30 });
      assert.deepEqual(log.repository.query(parseEventFilter({ person: 'Alice', limit: 0 })).events, []);
    });

    it('treats SQL-looking filter text as plain text', () => {
      for (const person of ["' OR 1=1 --", 'Alice"; DROP TABLE events; --', "%' OR name LIKE '%"]) {
        assert.equal(log.repository.query(parseEventFilter({ person })).total, 0);
      }
      assert.equal(log.repository.count(), 30);
    });

    it('exports CSV and JSON with the same events as the query', async () => {
      const json = JSON.parse(await exportEvents(log.repository, { verdict: 'known' }, 'json'));
      assert.deepEqual(json, log.repository.query({ verdict: 'known' }).events);
      const csv = await exportEvents(log.repository, { verdict: 'known' }, 'csv');
      const lines = csv.trimEnd().split('\r\n');
      assert.equal(lines[0], 'id,trigger,status,verdict,people,lists,distances,started_at,completed_at,processing_ms,frames_seen,error_message,has_snapshot,door');
      assert.equal(lines.length, 11);
      assert.ok(lines[1].startsWith(`${ids[27]},doorbell,completed,known,Alice,known,0.3000,${new Date(base + 27 * 3_600_000).toISOString()},`));
    });
  });

  it('exports more events than one page, honouring limit and offset', async () => {
    const base = Date.UTC(2026, 1, 1);
    const ids: string[] = [];
    store.db.transaction(() => {
      for (let i = 0; i < 2500; i++) {
        const event = eventAt(base + i * 1000);
        ids.push(event.id);
        log.repository.recordVerdict(event, { status: 'unknown' }, [], [], base + i * 1000);
      }
    })();
    const newestFirst = ids.reverse();
    const all = JSON.parse(await exportEvents(log.repository, {}, 'json'));
    assert.deepEqual(all.map((e: { id: string }) => e.id), newestFirst);
    const csv = (await exportEvents(log.repository, {}, 'csv')).trimEnd().split('\r\n');
    assert.equal(csv.length, 2501);
    const window = JSON.parse(await exportEvents(log.repository, { limit: 1500, offset: 100 }, 'json'));
    assert.deepEqual(window.map((e: { id: string }) => e.id), newestFirst.slice(100, 1600));
    assert.deepEqual(JSON.parse(await exportEvents(log.repository, { verdict: 'known' }, 'json')), []);
    assert.deepEqual(JSON.parse(await exportEvents(log.repository, parseEventFilter({ limit: '0' }), 'json')), []);
  });

  it('quotes CSV fields and defuses spreadsheet formulas in names', async () => {
    await log.record({ event: eventAt(Date.now() - 1000), verdict: { status: 'known', people: [{ name: 'Smith, "Jo"', list: 'known' }] } });
    await log.record({ event: eventAt(Date.now()), verdict: { status: 'known', people: [{ name: '=HYPERLINK("http://x")', list: 'known' }] } });
    const rows = (await exportEvents(log.repository, {}, 'csv')).split('\r\n');
    assert.equal(rows[1].split(',')[4], `"'=HYPERLINK(""http://x"")"`);
    assert.ok(rows[2].includes(',"Smith, ""Jo""",known,'), rows[2]);
  });

  it('parses filters strictly', () => {
    assert.deepEqual(parseEventFilter({ since: '2026-01-01T00:00:00Z', until: '1767312000000', status: 'failed', verdict: 'no_face', person: 'Bob', limit: '10', offset: '20' }), {
      since: Date.UTC(2026, 0, 1),
      until: 1767312000000,
      status: 'failed',
      verdict: 'no_face',
      person: 'Bob',
      limit: 10,
      offset: 20,
    });
    assert.throws(() => parseEventFilter({ status: 'done' }), /status must be one of created, processing, completed, failed/);
    assert.throws(() => parseEventFilter({ verdict: "known' OR '1'='1" }), /verdict must be one of/);
    assert.throws(() => parseEventFilter({ since: 'yesterday' }), /since must be a time/);
    assert.throws(() => parseEventFilter({ limit: '5000' }), /limit must be a whole number from 0 to 1000/);
    assert.throws(() => parseEventFilter({ offset: '-1' }), /offset must be a whole number/);
  });

  it('names snapshot files by event id only', () => {
    assert.ok(isFileSafeEventId(newEventId()));
    assert.ok(isFileSafeEventId('evt-42'));
    for (const bad of ['../etc/passwd', '..%2f..%2fetc', '/etc/passwd', 'a/b', 'a.b', '', 'x'.repeat(65), 'C:\\x']) {
      assert.equal(isFileSafeEventId(bad), false, bad);
      assert.throws(() => log.snapshots.pathOf(bad, 'snapshot'), /event id not usable as a file name/);
    }
  });

  it('escapes names in the SVG overlay and renders names with markup', async () => {
    const svg = overlaySvg(250, 250, [{ box: LFW_FACE, label: '<script>alert("x")</script> & co', list: 'known' }]);
    assert.ok(!svg.includes('<script>'));
    assert.ok(svg.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'));
    const event = eventAt(Date.now());
    const outcome = await log.record({
      event,
      payload: fs.readFileSync(lfwImage('Aaron_Eckhart', 1)),
      verdict: { status: 'unknown', people: [] },
      faces: [face('<b>&"\'', 'blacklist', 0.3)],
    });
    assert.equal(outcome.snapshot?.written, true);
  });

  describe('retention', () => {
    it('sweeps at start and periodically by verdict age (fake clock)', async () => {
      const t0 = Date.UTC(2026, 5, 1);
      const clock = sinon.useFakeTimers({ now: t0, toFake: ['Date', 'setInterval', 'clearInterval'] });
      const made: Record<string, string> = {};
      for (const status of ['unknown', 'known', 'blacklisted', 'no_face'] as const) {
        const event = eventAt(Date.now());
        made[status] = event.id;
        await log.record({ event, verdict: { status, people: status === 'known' ? ['Ann'] : [] } });
      }
      const failed = eventAt(Date.now());
      await log.record({ event: failed, error: { message: 'x' } });
      const stuck = eventAt(Date.now());
      await log.record({ event: stuck });

      let sweeps = 0;
      log.on('swept', () => sweeps++);
      const stop = log.startRetention(DAY);
      await waitUntil(() => sweeps >= 1, { interval: 0 });
      assert.equal(log.get(stuck.id)?.status, 'created', 'not yet stale at start');

      const waitSweep = async (days: number) => {
        const before = sweeps;
        clock.tick(days * DAY);
        await waitUntil(() => sweeps > before && log.repository.query({}).total >= 0, { interval: 0 });
        await log.sweep();
      };
      await waitSweep(1);
      assert.equal(log.get(stuck.id)?.status, 'failed', 'an event with no verdict for 2 minutes is failed');
      assert.match(log.get(stuck.id)!.errorMessage!, /no verdict within 120 s/);
      await waitSweep(7); // day 8
      assert.equal(log.get(made.unknown), undefined);
      assert.equal(log.get(made.no_face), undefined);
      assert.ok(log.get(made.known));
      await waitSweep(23); // day 31
      assert.equal(log.get(made.known), undefined);
      assert.equal(log.get(failed.id), undefined, 'failed events follow the "other" age');
      assert.ok(log.get(made.blacklisted));
      await waitSweep(335); // day 366
      assert.equal(log.get(made.blacklisted), undefined);
      stop();
      clock.restore();
      assert.ok(sweeps >= 5);
    });

    it('fails an event whose verdict never comes within minutes, between hourly sweeps, and a late verdict still completes it (fake clock)', async () => {
      const clock = sinon.useFakeTimers({ now: Date.UTC(2026, 5, 1), toFake: ['Date', 'setInterval', 'clearInterval'] });
      try {
        const stuck = eventAt(Date.now());
        await log.record({ event: stuck });
        const firstSweep = new Promise((resolve) => log.once('swept', resolve));
        const stop = log.startRetention(60 * 60_000);
        await firstSweep;
        clock.tick(60_000);
        assert.equal(log.get(stuck.id)?.status, 'created', 'a minute is not stalled yet');
        clock.tick(90_000);
        assert.equal(log.get(stuck.id)?.status, 'failed', 'stalled after two minutes, long before the next sweep');
        assert.match(log.get(stuck.id)!.errorMessage!, /no verdict within 120 s/);
        await log.record({ event: stuck, verdict: { status: 'unknown', people: [] } });
        assert.equal(log.get(stuck.id)?.status, 'completed');
        stop();
      } finally {
        clock.restore();
      }
    });

    it('stops a long sweep after its current batch when the log stops (a node closing)', async () => {
      const old = Date.now() - 30 * DAY;
      store.db.transaction(() => {
        for (let i = 0; i < 2000; i++) log.repository.recordVerdict(eventAt(old + i), { status: 'unknown' }, [], [], old + i);
      })();
      const sweeping = log.sweep();
      await log.stop();
      const report = await sweeping;
      assert.equal(report.eventsDeleted, RETENTION_BATCH, 'one batch, then it stopped');
      assert.equal(log.repository.count(), 2000 - RETENTION_BATCH);
      assert.deepEqual(await log.sweep(), { eventsDeleted: 0, snapshotsRemoved: 0, cropsDropped: 0, unfinishedFailed: 0 }, 'a stopped log sweeps no more');
    });

    it('keeps snapshots within a disk budget, oldest first, in small batches', async () => {
      const frame = fs.readFileSync(lfwImage('Aaron_Eckhart', 1));
      const events = [];
      for (let i = 0; i < 6; i++) {
        const event = eventAt(Date.now() - (6 - i) * 60_000);
        events.push(event);
        await log.record({ event, payload: frame, verdict: { status: 'unknown', people: [] }, faces: [face(null, null, null)] });
      }
      const each = log.repository.snapshotBytes() / 6;
      log.retention = policy({ snapshotBudgetBytes: Math.floor(each * 2.5) });
      const report = await log.sweep();
      assert.equal(report.snapshotsRemoved, 4);
      assert.ok(log.repository.snapshotBytes() <= each * 2.5);
      const kept = events.map((e) => log.get(e.id)!.hasSnapshot);
      assert.deepEqual(kept, [false, false, false, false, true, true]);
      assert.equal(fs.existsSync(log.snapshots.pathOf(events[0].id, 'snapshot')), false);
      assert.equal(fs.existsSync(log.snapshots.pathOf(events[0].id, 'thumbnail')), false);
      assert.equal(fs.existsSync(log.snapshots.pathOf(events[5].id, 'snapshot')), true);
      assert.equal(log.repository.count(), 6, 'events stay; only their pictures go');
    });
  });

  describe('privacy option', () => {
    it('keeps no snapshot or crop of a known person, and still keeps unknown visitors', async () => {
      log.retention = policy({ privacy: true });
      const frame = fs.readFileSync(lfwImage('Aaron_Eckhart', 1));
      const crop = await sharp(frame).extract({ left: 75, top: 70, width: 100, height: 120 }).jpeg().toBuffer();
      const known = eventAt(Date.now());
      const outcome = await log.record({ event: known, payload: frame, verdict: { status: 'known', people: [{ name: 'Aaron', list: 'known' }] }, faces: [{ ...face('Aaron', 'known', 0.3), crop }] });
      assert.deepEqual(outcome.snapshot, { written: false, reason: 'privacy: no snapshots of known people' });
      assert.equal(log.get(known.id)!.faces[0].hasCrop, false);
      assert.equal(fs.existsSync(log.snapshots.pathOf(known.id, 'snapshot')), false);

      const stranger = eventAt(Date.now());
      await log.record({ event: stranger, payload: frame, verdict: { status: 'unknown', people: [] }, faces: [{ ...face(null, null, null), crop }] });
      assert.equal(log.get(stranger.id)!.hasSnapshot, true);
      assert.equal(log.get(stranger.id)!.faces[0].hasCrop, true);
    });

    it('removes known people\'s snapshots and crops stored before the option was turned on', async () => {
      const frame = fs.readFileSync(lfwImage('Aaron_Eckhart', 1));
      const known = eventAt(Date.now());
      await log.record({ event: known, payload: frame, verdict: { status: 'known', people: [{ name: 'Aaron', list: 'known' }] }, faces: [face('Aaron', 'known', 0.3)] });
      assert.equal(log.get(known.id)!.hasSnapshot, true);
      log.retention = policy({ privacy: true });
      const report = await log.sweep();
      assert.equal(report.snapshotsRemoved, 1);
      assert.equal(report.cropsDropped, 1);
      assert.equal(log.get(known.id)!.hasSnapshot, false);
      assert.equal(log.get(known.id)!.faces[0].hasCrop, false);
      assert.equal(fs.existsSync(log.snapshots.pathOf(known.id, 'snapshot')), false);
    });
  });
});


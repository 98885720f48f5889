import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventRepository } from '../../../lib/eventlog/repository';
import type { SqliteStore } from '../../../lib/store';
import { embedFaces } from '../../../lib/engine/client';
import { selectBackend, type EngineSelection } from '../../../lib/engine/select';
import { CLUSTER_TOLERANCE_SHARE, VisitorBook, unknownFacesOf, variedBestFaces, visitorsOf, type UnknownFace } from '../../../lib/visitors';
import { WorkerPool } from '../../../lib/workers/pool';
import { referenceModel } from '../../support/onnx-models';
import { lfwDir, lfwPeople } from '../../support/paths';
import { scratchStore } from '../../support/scratch-store';

interface LfwFace {
  person: string;
  file: string;
  model: string;
  quality: number;
  embedding: number[];
}

const REPEAT_PEOPLE = 30;
const IMAGES_PER_PERSON = 6;
const STRANGERS = 200;

/** 30 people with at least 4 images (up to 6 each) and 200 people with one image, spread over the alphabet. */
function pickImages(): Array<{ person: string; file: string }> {
  const people = lfwPeople().map((person) => ({ person, files: fs.readdirSync(path.join(lfwDir, person)).sort() }));
  const repeat = people.filter((p) => p.files.length >= 4).filter((_, i) => i % 15 === 0).slice(0, REPEAT_PEOPLE);
  const strangers = people.filter((p) => p.files.length === 1).filter((_, i) => i % 14 === 0).slice(0, STRANGERS);
  return [
    ...repeat.flatMap((p) => p.files.slice(0, IMAGES_PER_PERSON).map((file) => ({ person: p.person, file }))),
    ...strangers.map((p) => ({ person: p.person, file: p.files[0] })),
  ];
}

/** The default pipeline (the engine's `auto` choice here), or YuNet + MobileFaceNet from the reference models. */
type Pipeline = 'auto' | 'yunet-mobilefacenet';

const choose = (pool: WorkerPool, pipeline: Pipeline) =>
  pipeline === 'auto'
    ? selectBackend(pool, 'auto')
    : selectBackend(pool, 'onnx', { detectorModel: referenceModel('yunet_s_640_640.onnx'), recognizerModel: referenceModel('mobilefacenet_foamliu_alenchen.onnx') });

/**
 * Embeddings of the chosen LFW images by a pipeline, cached in the temp
 * folder between runs (about 40 s to make).
 */
async function lfwEmbeddings(pipeline: Pipeline): Promise<{ faces: LfwFace[]; selection: EngineSelection }> {
  const images = pickImages();
  const pool = new WorkerPool({ threads: 1, maxQueue: 8, taskTimeoutMs: 120_000 });
  try {
    const selection = await choose(pool, pipeline);
    const key = crypto.createHash('sha256').update(JSON.stringify([selection.detector, selection.recognizer, selection.recognizerConfig, images])).digest('hex').slice(0, 16);
    const cache = path.join(os.tmpdir(), `porchlight-visitors-lfw-${key}.json`);
    if (fs.existsSync(cache)) return { faces: JSON.parse(fs.readFileSync(cache, 'utf8')) as LfwFace[], selection };
    const faces: LfwFace[] = [];
    for (const { person, file } of images) {
      const result = await embedFaces(pool, fs.readFileSync(path.join(lfwDir, person, file)), {
        detector: selection.detector,
        detectorConfig: selection.detectorConfig,
        recognizer: selection.recognizer,
        recognizerConfig: selection.recognizerConfig,
        policy: 'wait',
      });
      // LFW centres its subject: the face nearest the middle of the 250 x 250 image.
      const centre = (f: (typeof result.faces)[number]) => Math.hypot(f.box.x + f.box.width / 2 - result.width / 2, f.box.y + f.box.height / 2 - result.height / 2);
      const face = [...result.faces].sort((a, b) => centre(a) - centre(b))[0];
      if (face?.embedding && face.model) faces.push({ person, file, model: face.model, quality: face.quality.score, embedding: Array.from(face.embedding) });
    }
    fs.writeFileSync(cache, JSON.stringify(faces));
    return { faces, selection };
  } finally {
    await pool.close();
  }
}

/** A small seeded generator (mulberry32), so a failing shuffle can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seeded(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const unknown = (f: LfwFace): UnknownFace => ({ model: f.model, embedding: Float32Array.from(f.embedding), quality: f.quality, crop: null });

describe('recurring visitors', function () {
  this.timeout(300_000);
  let lfw: { faces: LfwFace[]; selection: EngineSelection };
  let store: SqliteStore;
  let events: EventRepository;
  const HOUR = 3600_000;

  before(async () => {
    lfw = await lfwEmbeddings('auto');
  });

  beforeEach(() => {
    store = scratchStore('porchlight-visitors-').store;
    events = new EventRepository(store.db);
  });

  afterEach(async () => {
    await store.close();
  });

  /** Each face is one unknown event, pressed `gapMs` after the one before. */
  async function stream(book: VisitorBook, faces: readonly LfwFace[], start: number, gapMs: number, tolerance = lfw.selection.tolerance) {
    const maxDistance = CLUSTER_TOLERANCE_SHARE * tolerance;
    const placed: Array<{ face: LfwFace; visitorId: number; eventId: string }> = [];
    for (const [i, face] of faces.entries()) {
      const eventId = `ev-${start}-${i}`;
      const startedAt = start + i * gapMs;
      events.recordPress({ id: eventId, trigger: 'test', startedAt, source: {} }, startedAt);
      const [recorded] = await book.record(eventId, [unknown(face)], { maxDistance, seenAt: startedAt });
      placed.push({ face, visitorId: recorded.visitorId, eventId });
    }
    return placed;
  }

  for (const pipeline of ['auto', 'yunet-mobilefacenet'] as const) {
    it(`groups the repeat LFW visitors of a shuffled stream of unknown events into pure clusters (${pipeline})`, async () => {
      const embedded = pipeline === 'auto' ? lfw : await lfwEmbeddings(pipeline);
      const repeatPeople = new Set(embedded.faces.filter((f, _, all) => all.filter((g) => g.person === f.person).length >= 4).map((f) => f.person));
      assert.equal(repeatPeople.size, REPEAT_PEOPLE, 'every repeat person kept at least 4 faces');
      const lines: string[] = [];
      for (const seed of [1, 2, 3]) {
        const book = new VisitorBook(store.db, { now: () => Date.now() });
        const placed = await stream(book, shuffled(embedded.faces, seed), Date.now() - 2 * HOUR, 10_000, embedded.selection.tolerance);
        const visitors = await book.list({ all: true });
        const members = new Map(visitors.map((v) => [v.id, placed.filter((p) => p.visitorId === v.id).map((p) => p.face.person)]));
        let inVisitors = 0;
        let majority = 0;
        for (const people of members.values()) {
          const counts = new Map<string, number>();
          for (const p of people) counts.set(p, (counts.get(p) ?? 0) + 1);
          inVisitors += people.length;
          majority += Math.max(...counts.values());
        }
        const purity = majority / inVisitors;
        // Grouped: a visitor holds at least half of the person's images, and they are its majority.
        let grouped = 0;
        for (const person of repeatPeople) {
          const total = placed.filter((p) => p.face.person === person).length;
          const best = Math.max(...[...members.values()].map((people) => people.filter((p) => p === person).length));
          if (best * 2 >= total && best >= 2) grouped++;
        }
        const strangersInVisitors = [...members.values()].flat().filter((p) => !repeatPeople.has(p)).length;
        lines.push(
          `seed ${seed}: ${placed.length} events, ${visitors.length} visitors, purity ${purity.toFixed(3)}, ` +
            `grouped ${grouped}/${REPEAT_PEOPLE} (${Math.round((100 * grouped) / REPEAT_PEOPLE)} %), strangers inside visitors ${strangersInVisitors}`,
        );
        assert.ok(purity >= 0.95, lines[lines.length - 1]);
        assert.ok(grouped >= 0.9 * REPEAT_PEOPLE, lines[lines.length - 1]);
        // Next seed on an empty log: deleting the events takes their faces and clusters.
        events.delete(placed.map((p) => p.eventId));
        assert.equal(book.size, 0);
        assert.equal((store.db.prepare('SELECT count(*) AS n FROM visitors').get() as { n: number }).n, 0);
        book.close();
      }
      const { recognizer, tolerance } = embedded.selection;
      console.log(`      LFW visitors (${recognizer}, cluster distance ${(CLUSTER_TOLERANCE_SHARE * tolerance).toFixed(2)}):\n      ${lines.join('\n      ')}`);
    });
  }

  it('numbers a visitor at its second event, keeps the number, and counts events, not frames', async () => {
    const book = visitorsOf(store)!;
    const [a1, a2, a3] = lfw.faces.filter((f) => f.person === lfw.faces[0].person);
    const maxDistance = CLUSTER_TOLERANCE_SHARE * lfw.selection.tolerance;
    const now = Date.now();
    events.recordPress({ id: 'first', trigger: 'test', startedAt: now - 3 * HOUR, source: {} }, now);
    events.recordPress({ id: 'second', trigger: 'test', startedAt: now - 2 * HOUR, source: {} }, now);
    const [first] = await book.record('first', [unknown(a1)], { maxDistance, seenAt: now - 3 * HOUR });
    assert.equal(first.visitor.number, null);
    assert.equal(VisitorBook.verdictVisitor(first.visitor), undefined);
    // Two faces of one person in the same event: one visit, and never one cluster (two people at the door are two visitors).
    const same = await book.record('first', [unknown(a2)], { maxDistance, seenAt: now - 3 * HOUR });
    assert.notEqual(same[0].visitorId, first.visitorId);
    const [second] = await book.record('second', [unknown(a3)], { maxDistance, seenAt: now - 2 * HOUR });
    assert.ok(second.visitor.number !== null, 'numbered at its second event');
    const verdict = VisitorBook.verdictVisitor(second.visitor)!;
    assert.equal(verdict.label, `visitor #${verdict.number}`);
    assert.equal(verdict.seen, 2);
    assert.equal(verdict.firstSeen, now - 3 * HOUR);
    assert.equal(verdict.lastSeen, now - 2 * HOUR);
    // Reloaded from the file: same clusters, same number.
    const reloaded = new VisitorBook(store.db);
    const again = await reloaded.get(second.visitorId);
    assert.equal(again.number, verdict.number);
    assert.equal(again.seen, 2);
    reloaded.close();
  });

  it('names a visitor with a varied subset of at most 5 faces, merges and dismisses', async () => {
    const book = visitorsOf(store)!;
    const person = lfw.faces[0].person;
    const theirs = lfw.faces.filter((f) => f.person === person);
    const placed = await stream(book, theirs, Date.now() - 2 * HOUR, 60_000);
    const clusters = [...new Set(placed.map((p) => p.visitorId))];
    const [main, ...rest] = clusters;
    for (const other of rest) await book.merge(other, main);
    const merged = await book.get(main);
    assert.equal(merged.seen, theirs.length);
    const named = await book.name(main, 'Porch Guest', store);
    assert.ok(named.enrolled.faceIds.length >= 1 && named.enrolled.faceIds.length <= 5);
    assert.equal(named.visitor.state, 'named');
    assert.deepEqual(await book.list(), [], 'a named visitor leaves the list of open visitors');
    const enrolled = await store.listFaces('Porch Guest');
    assert.ok(enrolled.every((f) => f.source === `visitor:${main}`));
    // Forgetting the person forgets the faces they were named from.
    await store.forget('Porch Guest');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(book.summary(main), undefined);
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM visitor_faces').get() as { n: number }).n, 0);

    const again = await stream(book, theirs.slice(0, 2), Date.now() - HOUR, 60_000);
    const dismissed = await book.dismiss(again[1].visitorId);
    assert.equal(dismissed.state, 'dismissed');
    assert.equal(VisitorBook.verdictVisitor(dismissed), undefined);
  });

  it('keeps only unknown faces of a verdict (also beside a known person) at or above the minimum quality, best first', () => {
    const [a, b, c] = lfw.faces;
    const faces = [
      { status: 'known', model: a.model, embedding: a.embedding, quality: { score: 0.9 } },
      { status: 'unknown', model: b.model, embedding: b.embedding, quality: { score: 0.5 }, crop: Buffer.from([0xff, 0xd8]) },
      { status: 'unknown', model: c.model, embedding: c.embedding, quality: { score: 0.8 } },
      { status: 'unknown', model: c.model, embedding: c.embedding, quality: { score: 0.1 } },
      { status: 'unknown', model: c.model, embedding: [Number.NaN] },
      { status: 'unknown', embedding: c.embedding },
    ];
    const kept = unknownFacesOf(faces, 0.3);
    assert.deepEqual(kept.map((f) => f.quality), [0.8, 0.5]);
    assert.ok(kept[1].crop && kept[1].crop[0] === 0xff);
    assert.deepEqual(unknownFacesOf('not faces', 0.3), []);
  });

  it('drops a face whose event never reached the event log, after an hour', async () => {
    let now = Date.now();
    const book = new VisitorBook(store.db, { now: () => now });
    const maxDistance = CLUSTER_TOLERANCE_SHARE * lfw.selection.tolerance;
    await book.record('never-logged', [unknown(lfw.faces[0])], { maxDistance });
    events.recordPress({ id: 'logged', trigger: 'test', startedAt: now, source: {} }, now);
    await book.record('logged', [unknown(lfw.faces[200])], { maxDistance });
    assert.equal(book.size, 2);
    now += 2 * HOUR;
    events.recordPress({ id: 'later', trigger: 'test', startedAt: now, source: {} }, now);
    await book.record('later', [unknown(lfw.faces[300])], { maxDistance });
    assert.equal(book.size, 2, 'the never-logged face is gone, the logged ones stay');
    assert.equal((store.db.prepare("SELECT count(*) AS n FROM visitor_faces WHERE event_id = 'never-logged'").get() as { n: number }).n, 0);
    book.close();
  });

  it('varied subset: farthest-point sampling skips near-duplicates', () => {
    const faces = lfw.faces.slice(0, 6).map((f) => ({ embedding: Float32Array.from(f.embedding), quality: f.quality }));
    const duplicated = [...faces, ...faces.map((f) => ({ embedding: f.embedding.map((v) => v + 1e-4), quality: (f.quality ?? 0) - 0.001 }))];
    const picked = variedBestFaces(duplicated, 5, 12);
    assert.ok(picked.length <= 5);
    const originals = new Set(picked.map((i) => i % faces.length));
    assert.equal(originals.size, picked.length, 'never a face and its near-duplicate');
  });

  it('finds the past events of a face, nearest first, from an event or an embedding', async () => {
    const book = visitorsOf(store)!;
    const person = lfw.faces[0].person;
    const mixed = shuffled(lfw.faces.slice(0, 80), 7);
    const placed = await stream(book, mixed, Date.now() - 2 * HOUR, 10_000);
    const probeEvent = placed.find((p) => p.face.person === person)!;
    const found = await book.find(book.eventProbes(probeEvent.eventId), { maxDistance: lfw.selection.tolerance, excludeEvent: probeEvent.eventId, limit: 10 });
    const expected = placed.filter((p) => p.face.person === person && p.eventId !== probeEvent.eventId).map((p) => p.eventId);
    assert.ok(found.length >= 1);
    for (let i = 1; i < found.length; i++) assert.ok(found[i].distance >= found[i - 1].distance);
    const hits = found.filter((f) => expected.includes(f.eventId)).length;
    assert.ok(hits >= Math.ceil(expected.length / 2), `${hits} of ${expected.length} of ${person}'s other events found`);
    assert.ok(!found.some((f) => f.eventId === probeEvent.eventId));
  });
});

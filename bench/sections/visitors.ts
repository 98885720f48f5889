import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../lib/store';
import { VisitorBook, VisitorRepository } from '../../lib/visitors';
import { latency, timeCalls, timedWithStall, type BenchSection, type Measurement } from '../types';

const MODEL = 'faceapi-resnet128';
const DIM = 128;
/** face-api's clustering distance (0.8 x its 0.6 tolerance). */
const MAX_DISTANCE = 0.48;
const FACES_PER_VISITOR = 5;

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

/** A random point near `centre` (face-api descriptors of one person sit about 0.3-0.4 apart). */
function near(centre: Float32Array, spread: number): Float32Array {
  return centre.map((v) => v + gaussian() * spread);
}

const randomCentre = () => Float32Array.from({ length: DIM }, () => gaussian() * 0.09);

/** A database with `faces` stored unknown faces in clusters of five, loaded into a fresh VisitorBook. */
async function filledBook(dir: string, faces: number): Promise<{ book: VisitorBook; close(): Promise<void>; loadMs: number; stallMs: number }> {
  const store = openSqliteStore(path.join(dir, `visitors-${faces}.db`));
  const repository = new VisitorRepository(store.db);
  const now = Date.now();
  store.db.transaction(() => {
    for (let v = 0; v < faces / FACES_PER_VISITOR; v++) {
      const centre = randomCentre();
      const cluster = repository.createCluster(MODEL, now);
      for (let f = 0; f < FACES_PER_VISITOR; f++) {
        repository.addFace(cluster.id, `event-${v}-${f}`, { model: MODEL, embedding: near(centre, 0.02), quality: 0.8, crop: null }, now);
      }
    }
  })();
  let book: VisitorBook | undefined;
  const load = await timedWithStall(async () => {
    book = new VisitorBook(store.db);
    await book.ready;
  });
  return { book: book!, loadMs: load.ms, stallMs: load.stallMs, close: () => store.close() };
}

/**
 * Recurring visitors: filing one new unknown face (one matrix scan with
 * average linkage over every stored unknown face of its model, one SQLite
 * insert) against 10,000 stored faces, with a 1,000-face index in the same run
 * as the baseline; and loading 10,000 faces at start with the longest event-loop stall.
 */
const section: BenchSection = {
  name: 'visitors',
  async run(ctx) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-bench-visitors-'));
    const samples = ctx.quick ? 50 : 300;
    const out: Measurement[] = [];
    try {
      const p50s: number[] = [];
      for (const size of [1000, 10_000]) {
        const filled = await filledBook(dir, size);
        try {
          // New faces at random: most start a cluster, some join one; each is one record() as face-recognize makes it.
          const faces = Array.from({ length: samples + 5 }, randomCentre);
          const { wall, cpu } = await timeCalls(samples, (i) =>
            filled.book.record(`new-${i}`, [{ model: MODEL, embedding: faces[i], quality: 0.8, crop: null }], { maxDistance: MAX_DISTANCE }),
          );
          const stored = size.toLocaleString('en');
          const m = latency(`visitors: file one unknown face against ${stored} stored`, wall);
          out.push(m, latency(`visitors: file one unknown face against ${stored} stored (CPU time)`, cpu));
          if (m.kind === 'latency') p50s.push(m.p50);
          if (size === 10_000) {
            out.push({ name: 'visitors: load 10,000 stored faces at start (paged)', kind: 'value', value: Math.round(filled.loadMs), unit: 'ms', note: `longest event-loop stall ${filled.stallMs.toFixed(1)} ms` });
          }
        } finally {
          await filled.close();
        }
      }
      out.push({ name: 'visitors: p50 ratio 10,000 / 1,000 stored faces', kind: 'value', value: Number((p50s[1] / p50s[0]).toFixed(2)), unit: 'x' });
      return out;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default section;

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Matcher, attachMatcher } from '../../lib/match';
import { exportFacesToFolder, importFaces, openSqliteStore, readExportFolder } from '../../lib/store';
import { latency, timeCalls, timedWithStall, type BenchSection, type Measurement } from '../types';

const MODEL = 'faceapi-resnet128';
const DIM = 128;

function randomUnitVector(): Float32Array {
  const v = new Float32Array(DIM);
  let norm = 0;
  for (let i = 0; i < DIM; i++) {
    v[i] = Math.random() - 0.5;
    norm += v[i] * v[i];
  }
  for (let i = 0; i < DIM; i++) v[i] /= Math.sqrt(norm);
  return v;
}

/** A matcher holding `size` random 128-d embeddings, five faces per person. */
function filledMatcher(size: number, kernel: 'auto' | 'js'): Matcher {
  const matcher = new Matcher({ kernel });
  for (let faceId = 1; faceId <= size; faceId++) {
    const personId = Math.ceil(faceId / 5);
    matcher.add({ id: personId, name: `person ${personId}`, list: 'known' }, [{ faceId, personId, model: MODEL, embedding: randomUnitVector() }]);
  }
  return matcher;
}

/** Wall and CPU time per query of a matcher (the wall time includes waiting for a core on a shared machine). */
function timeQueries(matcher: Matcher, queries: number): Promise<{ wall: number[]; cpu: number[] }> {
  const probes = Array.from({ length: queries + 5 }, randomUnitVector);
  return timeCalls(queries, (i) => matcher.nearest(probes[i], MODEL, 5));
}

/** The SQLite store at `faces` embeddings: enrollment, matcher load at start, export, import, backup, and how long each holds the event loop. */
async function storeMeasurements(faces: number): Promise<Measurement[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-bench-store-'));
  const store = openSqliteStore(path.join(dir, 'faces.db'));
  try {
    const enrollSamples: number[] = [];
    const crop = Buffer.alloc(6000, 7); // about the size of a 160 px JPEG crop
    for (let person = 0; person < faces / 10; person++) {
      const batch = Array.from({ length: 10 }, () => ({ model: MODEL, embedding: randomUnitVector(), quality: 0.8, crop }));
      const started = process.hrtime.bigint();
      await store.enroll(`person ${person}`, batch);
      enrollSamples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const out: Measurement[] = [latency('store enroll of 10 faces (one transaction)', enrollSamples)];
    const value = (name: string, v: number, unit: string, note?: string) => out.push({ name, kind: 'value', value: v, unit, note });

    const load = await timedWithStall(async () => {
      const attached = attachMatcher(store);
      await attached.ready;
      attached.detach();
    });
    value(`matcher load from SQLite, ${faces} faces`, load.ms, 'ms', `event loop held up to ${load.stallMs.toFixed(0)} ms`);
    const exporting = await timedWithStall(() => exportFacesToFolder(store, path.join(dir, 'export')));
    value(`export ${faces} faces with crops to a folder`, exporting.ms, 'ms', `event loop held up to ${exporting.stallMs.toFixed(0)} ms`);
    const exported = await readExportFolder(path.join(dir, 'export'));
    const target = openSqliteStore(path.join(dir, 'imported.db'));
    const importing = await timedWithStall(() => importFaces(target, exported));
    await target.close();
    value(`import ${faces} faces into an empty DB`, importing.ms, 'ms', `event loop held up to ${importing.stallMs.toFixed(0)} ms`);
    const backup = await timedWithStall(() => store.backup(path.join(dir, 'backup.db')));
    value(`online backup, ${faces} faces`, backup.ms, 'ms', `event loop held up to ${backup.stallMs.toFixed(0)} ms`);
    return out;
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Nearest-neighbour time (best face per person, top 5 people) by DB size, with
 * the plain-JS scan as the baseline; then the SQLite store's bulk operations.
 */
const section: BenchSection = {
  name: 'matcher',
  async run(ctx) {
    const queries = ctx.quick ? 20 : 200;
    const out: Measurement[] = [];
    for (const size of [1_000, 10_000, 100_000]) {
      const results: Record<string, number[]> = {};
      for (const kernel of ['auto', 'js'] as const) {
        const matcher = filledMatcher(size, kernel);
        const { wall, cpu } = await timeQueries(matcher, queries);
        results[kernel] = wall;
        const label = kernel === 'auto' ? matcher.kernel() : 'js baseline';
        out.push(latency(`nearest ${size} x 128-d (${label})`, wall));
        if (kernel === 'auto') out.push(latency(`nearest ${size} x 128-d (${label}), CPU time`, cpu));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      out.push({ name: `speed-up over js at ${size}`, kind: 'value', value: median(results.js) / median(results.auto), unit: 'x' });
      await new Promise((resolve) => setImmediate(resolve));
    }
    // "Not X" corrections: 500 negative examples spread over 100 people of the 100,000-face matcher.
    const corrected = filledMatcher(100_000, 'auto');
    for (let i = 0; i < 500; i++) {
      const personId = 1 + (i % 100);
      corrected.add({ id: personId, name: `person ${personId}`, list: 'known' }, [{ faceId: 1_000_000 + i, personId, model: MODEL, embedding: randomUnitVector(), kind: 'negative' }]);
    }
    out.push(latency('nearest 100000 x 128-d + 500 negatives of 100 people, CPU time', (await timeQueries(corrected, queries)).cpu));
    const loadStarted = process.hrtime.bigint();
    filledMatcher(100_000, 'auto');
    out.push({ name: 'build 100000 x 128-d matrix', kind: 'value', value: Number(process.hrtime.bigint() - loadStarted) / 1e6, unit: 'ms', note: 'incl. random vectors' });
    out.push(...(await storeMeasurements(ctx.quick ? 2_000 : 20_000)));
    return out;
  },
};

export default section;

/**
 * Recognition as face-recognize runs it, on LFW images through the worker
 * pool: the per-face cost when face-detect already found the face (decode,
 * align, descriptor; with and without flip averaging), the whole pipeline
 * from a bare image (detect + landmarks + align + descriptor), and, as the
 * baseline measured in the same run, detection alone on the same images.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { decideFace } from '../../lib/recognize';
import { detectFaces, embedFaces, WorkerPool } from '../../lib/engine';
import { type DetectedFace, euclidean } from '../../lib/vision';
import { lfwDir, lfwPeople } from '../../test/support/paths';
import { latency, percentile, type BenchSection, type Measurement } from '../types';

function lfwSample(count: number): Buffer[] {
  return lfwPeople()
    .slice(0, count)
    .map((person) => {
      const [first] = fs.readdirSync(path.join(lfwDir, person)).sort();
      return fs.readFileSync(path.join(lfwDir, person, first));
    });
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

const median = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 50);

const section: BenchSection = {
  name: 'recognition',
  async run(ctx) {
    const images = lfwSample(ctx.quick ? 6 : 30);
    const out: Measurement[] = [];
    const pool = new WorkerPool({ threads: 1, maxQueue: 64, taskTimeoutMs: 120_000 });
    try {
      // Warm-up: model loads and wasm compilation are not part of a doorbell press.
      await embedFaces(pool, images[0], { policy: 'wait' });

      const detectMs: number[] = [];
      const found: Array<{ image: Buffer; faces: DetectedFace[] }> = [];
      for (const image of images) {
        const { ms, value } = await timed(() => detectFaces(pool, image, { policy: 'wait' }));
        detectMs.push(ms);
        if (value.faces.length > 0) found.push({ image, faces: value.faces.slice(0, 1) });
      }
      out.push(latency('detect (baseline): SSD + 68 landmarks, 250x250', detectMs, '1 worker'));

      for (const flip of [false, true]) {
        const samples: number[] = [];
        for (const { image, faces } of found) samples.push((await timed(() => embedFaces(pool, image, { faces, flip, policy: 'wait' }))).ms);
        out.push(latency(`recognize one given face${flip ? ' + flip' : ''}: decode + align + descriptor`, samples, `ratio to detect p50: ${(median(samples) / median(detectMs)).toFixed(2)}`));
      }

      const full: number[] = [];
      const embeddings: Float32Array[] = [];
      for (const image of images) {
        const { ms, value } = await timed(() => embedFaces(pool, image, { policy: 'wait' }));
        full.push(ms);
        if (value.faces[0]?.embedding) embeddings.push(value.faces[0].embedding);
      }
      out.push(latency('full pipeline from a bare image: detect + align + descriptor + flip', full, `ratio to detect p50: ${(median(full) / median(detectMs)).toFixed(2)}`));

      // The decision itself, against a gallery of every other sampled face (pure JS, main thread).
      const decide: number[] = [];
      for (let i = 0; i < embeddings.length; i++) {
        const started = performance.now();
        const candidates = embeddings
          .map((e, j) => ({ personId: j, name: `p${j}`, list: 'known' as const, distance: euclidean(embeddings[i], e) }))
          .filter((c) => c.personId !== i);
        decideFace(candidates);
        decide.push(performance.now() - started);
      }
      out.push(latency(`decision over a ${embeddings.length - 1}-person gallery (brute force, main thread)`, decide));
      ctx.log(`recognition: ${found.length}/${images.length} images with a face`);
    } finally {
      await pool.close();
    }
    return out;
  },
};

export default section;

/**
 * The demo end to end (`npm start` in a child process): from a press on the
 * admin API to the verdict stored in the event log, with the simulated camera
 * showing each of the demo's visitors in turn. The baseline, measured in the
 * same run before the demo starts: one of its frames through detection and
 * embedding on one worker thread of this process, the least one press costs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { embedFaces } from '../../lib/vision/client';
import { WorkerPool } from '../../lib/workers/pool';
import { prepareDemoMedia, type SceneKey } from '../../scripts/demo-media';
import { startDemo, waitFor } from '../../scripts/demo-server';
import { latency, percentile, type BenchSection, type Measurement } from '../types';

const VISITORS: SceneKey[] = ['alice', 'mallory', 'stranger', 'nobody'];
/** The demo doorbell's cool-down: presses closer than this join one event. */
const COOLDOWN_MS = 3_200;

const median = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 50);

async function oneFrameBaseline(rounds: number): Promise<number[]> {
  const mediaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-bench-demo-'));
  const pool = new WorkerPool({ threads: 1 });
  try {
    const media = await prepareDemoMedia(mediaDir);
    const frame = fs.readFileSync(media.scene('alice'));
    await embedFaces(pool, frame); // loads the models
    const samples: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      await embedFaces(pool, frame);
      samples.push(performance.now() - started);
    }
    return samples;
  } finally {
    await pool.close();
    fs.rmSync(mediaDir, { recursive: true, force: true });
  }
}

const section: BenchSection = {
  name: 'demo',
  async run(ctx) {
    const baseline = await oneFrameBaseline(ctx.quick ? 3 : 10);
    const demo = await startDemo();
    try {
      const call = async (method: string, route: string) => {
        const response = await fetch(`${demo.baseUrl}${route}`, { method });
        if (!response.ok) throw new Error(`${method} ${route}: ${response.status}`);
        return response.headers.get('content-type')?.includes('json') ? response.json() : response.text();
      };
      const ring = async (visitor: SceneKey): Promise<number> => {
        await call('POST', `inject/pl_demo_${visitor}`);
        await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS));
        const pressedAt = performance.now();
        const { event } = await call('POST', 'porchlight/doorbell/pl_doorbell/press');
        await waitFor(
          `a verdict for ${event.id}`,
          async () => ((await call('GET', `porchlight/events/${event.id}`)).status === 'completed' ? true : undefined),
          30_000,
          20,
        );
        return performance.now() - pressedAt;
      };
      await ring('alice'); // the first press after a start loads the models in the workers
      const rounds = ctx.quick ? 1 : 3;
      const samples: number[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const visitor of VISITORS) samples.push(await ring(visitor));
      }
      const ratio = median(samples) / median(baseline);
      const out: Measurement[] = [
        latency('one frame detect + embed (baseline, 1 worker)', baseline),
        latency('press to verdict in the log', samples, `known, blacklisted, unknown, no face; ${rounds} round(s)`),
        { name: 'press to verdict / baseline (p50)', kind: 'value', value: ratio, unit: 'x' },
      ];
      return out;
    } finally {
      await demo.stop();
    }
  },
};

export default section;

/**
 * Doorbell work first: the demo (`npm start` in a child process) measured from
 * a press on the admin API to the verdict stored in the event log, first idle,
 * then while JSON enrolments of 200 LFW images (20 requests of 10, sent at
 * once, repeated for as long as the presses last) keep the worker pool busy.
 * The press's frames run in the pool's doorbell lane, the enrolment in the
 * bulk lane; the ratio of the two medians is the figure (the target: within 2x).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startDemo } from '../../scripts/demo-server';
import { demoCaller, ringDemo } from '../demo-press';
import { lfwDir, lfwPeople } from '../../test/support/paths';
import { latency, percentile, type BenchSection, type Measurement } from '../types';

const ENROLMENT_IMAGES = 200;
const PER_REQUEST = 10;

const median = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 50);

/** 200 LFW photos, base64, one per person (each person's first photo in the folder). */
function enrolmentImages(): string[] {
  return lfwPeople()
    .slice(0, ENROLMENT_IMAGES)
    .map((person) => fs.readFileSync(path.join(lfwDir, person, fs.readdirSync(path.join(lfwDir, person)).sort()[0])).toString('base64'));
}

const section: BenchSection = {
  name: 'priority',
  async run(ctx) {
    const images = enrolmentImages();
    const demo = await startDemo();
    try {
      const call = demoCaller(demo.baseUrl);
      const ring = async () => (await ringDemo(call, 'alice', 120_000)).seen;
      await ring(); // the first press after a start loads the models in the workers
      const presses = ctx.quick ? 3 : 8;
      const idle: number[] = [];
      for (let i = 0; i < presses; i++) idle.push(await ring());

      // Enrolments of 200 images, one after another, until the loaded presses are measured.
      let enrolling = true;
      let enrolled = 0;
      let failedRequests = 0;
      let round = 0;
      const enrolments = (async () => {
        while (enrolling) {
          const name = `Bench load ${++round}`;
          const batches = Array.from({ length: ENROLMENT_IMAGES / PER_REQUEST }, (_, i) => images.slice(i * PER_REQUEST, (i + 1) * PER_REQUEST));
          // A request that fails (a connection closed after minutes of waiting) is counted, not fatal: the load goes on.
          await Promise.all(
            batches.map((batch) =>
              call('POST', 'porchlight/faces', { name, images: batch }).then(
                () => (enrolled += batch.length),
                () => failedRequests++,
              ),
            ),
          );
          await call('DELETE', `porchlight/faces/${encodeURIComponent(name)}`).catch(() => undefined);
        }
      })();
      const loaded: number[] = [];
      try {
        await new Promise((resolve) => setTimeout(resolve, 1_000)); // the enrolment's tasks are queued
        for (let i = 0; i < presses; i++) {
          loaded.push(await ring());
          ctx.log(`  press ${i + 1} of ${presses} during the enrolment: ${Math.round(loaded[i])} ms (${enrolled} images embedded so far)`);
        }
      } finally {
        enrolling = false;
      }
      const loadedAt = enrolled;
      await enrolments;
      const ratio = median(loaded) / median(idle);
      const out: Measurement[] = [
        latency('press to verdict, idle', idle),
        latency('press to verdict, during a 200-image enrolment', loaded, `${loadedAt} images embedded by the enrolments meanwhile${failedRequests ? `, ${failedRequests} enrolment requests failed` : ''}`),
        { name: 'during enrolment / idle (p50)', kind: 'value', value: ratio, unit: 'x', note: 'target: at most 2x' },
        {
          name: 'during enrolment / idle (p95)',
          kind: 'value',
          value: percentile([...loaded].sort((a, b) => a - b), 95) / percentile([...idle].sort((a, b) => a - b), 95),
          unit: 'x',
        },
      ];
      return out;
    } finally {
      await demo.stop();
    }
  },
};

export default section;

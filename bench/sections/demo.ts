/**
 * The demo end to end (`npm start` in a child process): from a press on the
 * admin API to the verdict stored in the event log. The key figure is a
 * known face: at least 20 presses with Alice at the door (then one round of
 * the other visitors, whose verdicts are checked too). The baseline, measured
 * in the same run (half before the presses, half after, as the machine's load
 * drifts): one of the demo's frames through detection and embedding with the
 * demo engine's own pipeline, on one worker thread of this process: the least
 * one press costs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { embedFaces, type EngineSelection, selectBackend, WorkerPool } from '../../lib/engine';
import { prepareDemoMedia, type SceneKey } from '../../scripts/demo-media';
import { startDemo } from '../../scripts/demo-server';
import { demoCaller, ringDemo } from '../demo-press';
import { latency, percentile, type BenchSection, type Measurement } from '../types';

/** What the demo must conclude for each visitor (as test/scripts/demo.test.ts). */
const EXPECTED: Record<SceneKey, { verdict: string; people: string[] }> = {
  alice: { verdict: 'known', people: ['Alice'] },
  mallory: { verdict: 'blacklisted', people: ['Mallory'] },
  stranger: { verdict: 'unknown', people: [] },
  nobody: { verdict: 'no_face', people: [] },
};
const OTHERS: SceneKey[] = ['mallory', 'stranger', 'nobody'];
/** Presses with a known face at the door (the target: at least 20). */
const KNOWN_PRESSES = 20;

interface StoredEvent {
  status: string;
  verdict: string | null;
  people: { name: string }[];
  startedAt: number;
  completedAt: number | null;
  framesSeen: number | null;
  /** The verdict as face-recognize sent it. */
  data?: { reason?: string };
}

const sorted = (samples: number[]) => [...samples].sort((a, b) => a - b);

/** The demo engine's pipeline (flows/demo.json: backend auto, YuNet), chosen as its node chooses it, in the demo's user dir. */
async function demoPipeline(pool: WorkerPool, userDir: string): Promise<EngineSelection> {
  return selectBackend(pool, 'auto', { detectorKind: 'yunet', userDir });
}

async function oneFrame(pool: WorkerPool, frame: Buffer, selection: EngineSelection, rounds: number): Promise<number[]> {
  const request = { detector: selection.detector, detectorConfig: selection.detectorConfig, recognizer: selection.recognizer, recognizerConfig: selection.recognizerConfig, flip: true };
  await embedFaces(pool, frame, request); // loads the models
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    const result = await embedFaces(pool, frame, request);
    samples.push(performance.now() - started);
    if (!result.faces[0]?.embedding) throw new Error('the baseline frame has no embedded face');
  }
  return samples;
}

const section: BenchSection = {
  name: 'demo',
  async run(ctx) {
    const loadBefore = os.loadavg()[0];
    const demo = await startDemo();
    const pool = new WorkerPool({ threads: 1 });
    try {
      const call = demoCaller(demo.baseUrl);
      const selection = await demoPipeline(pool, demo.userDir);
      // The pictures the demo cut at its start (start.ts: <user dir>/porchlight-demo), reused.
      const frame = fs.readFileSync((await prepareDemoMedia(path.join(demo.userDir, 'porchlight-demo'))).scene('alice'));
      const rounds = ctx.quick ? 2 : 5;
      const baseline = await oneFrame(pool, frame, selection, rounds);

      const wrong: string[] = [];
      const frames: number[] = [];
      const reasons = new Map<string, number>();
      /** Rings with `visitor` at the door; returns press to verdict as the event log has it (its press and verdict times) and as this client saw it. */
      const ring = async (visitor: SceneKey): Promise<{ logged: number; seen: number }> => {
        const { stored, seen } = await ringDemo<StoredEvent>(call, visitor);
        const expected = EXPECTED[visitor];
        const people = stored.people.map((p) => p.name).sort();
        if (stored.verdict !== expected.verdict || people.join() !== expected.people.join()) wrong.push(`${visitor}: ${stored.verdict} ${people.join()}`);
        frames.push(stored.framesSeen ?? 0);
        const reason = stored.data?.reason ?? 'none';
        if (visitor === 'alice') reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        return { logged: (stored.completedAt ?? NaN) - stored.startedAt, seen };
      };

      await ring('alice'); // the first press after a start loads the models in the workers
      frames.length = 0;
      wrong.length = 0;
      reasons.clear();
      const known: number[] = [];
      const knownSeen: number[] = [];
      const presses = ctx.quick ? 5 : KNOWN_PRESSES;
      for (let i = 0; i < presses; i++) {
        const { logged, seen } = await ring('alice');
        known.push(logged);
        knownSeen.push(seen);
        ctx.log(`    press ${i + 1}/${presses}: ${Math.round(logged)} ms`);
      }
      const others: number[] = [];
      for (const visitor of OTHERS) others.push((await ring(visitor)).logged);
      baseline.push(...(await oneFrame(pool, frame, selection, rounds)));

      const base = percentile(sorted(baseline), 50);
      const knownSorted = sorted(known);
      const loadAfter = os.loadavg()[0];
      const load = `load average ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)} on ${os.availableParallelism()} cores`;
      const oneFramePresses = frames.filter((n) => n < 2).length;
      const out: Measurement[] = [
        latency('one frame detect + embed (baseline, 1 worker)', baseline, `${selection.detector} + ${selection.recognizer}; half before, half after the presses`),
        latency('press to verdict in the log, known face', known, `${presses} presses of Alice (press and verdict times of the event); ${load}`),
        { name: 'known presses decided at once', kind: 'value', value: reasons.get('clear') ?? 0, unit: `of ${presses}`, note: `verdict reasons: ${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')}` },
        latency('press to verdict seen by the client, known', knownSeen, 'the same presses, from the HTTP press to the poll that saw the verdict'),
        latency('press to verdict in the log, others', others, 'one each: blacklisted, unknown, no face'),
        { name: 'press to verdict / baseline (p50)', kind: 'value', value: percentile(knownSorted, 50) / base, unit: 'x', note: 'known face, median / baseline median' },
        { name: 'press to verdict / baseline (p95)', kind: 'value', value: percentile(knownSorted, 95) / base, unit: 'x', note: 'known face, p95 / baseline median' },
        { name: 'presses with one frame only', kind: 'value', value: oneFramePresses, unit: `of ${frames.length}`, note: 'the demo burst is 2 frames (pre-roll 1 + burst 1)' },
        { name: 'wrong verdicts', kind: 'value', value: wrong.length, unit: `of ${frames.length}`, note: wrong.join('; ') || undefined },
      ];
      return out;
    } finally {
      await pool.close();
      await demo.stop();
    }
  },
};

export default section;

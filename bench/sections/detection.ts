/**
 * Face detection as face-detect runs it: JPEG frames through the worker pool
 * (decode, detect, 68 landmarks). Latency per detector and frame size;
 * throughput with 1 and 2 workers on a stream; the main event loop's lag while
 * the workers are busy (Node-RED's loop must stay free); RSS over a long stream.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { detectFaces, type DetectRequest, WorkerPool } from '../../lib/engine';
import { frameJpeg } from '../../test/support/images';
import { latency, percentile, type BenchSection, type Measurement } from '../types';

const DETECTORS = ['ssd-mobilenetv1', 'tiny-face-detector'] as const;
const SIZES = [
  [640, 480],
  [1280, 720],
] as const;

/** Camera-shaped frames cut from the six demo group photos (3 to 5 faces each). */
function makeFrames(width: number, height: number): Promise<Buffer[]> {
  return Promise.all([1, 2, 3, 4, 5, 6].map((n) => frameJpeg(n, width, height)));
}

/** Detects `count` frames one after another; returns each call's latency (ms). */
async function sequential(pool: WorkerPool, frames: Buffer[], count: number, request: DetectRequest): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await detectFaces(pool, frames[i % frames.length], request);
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Pushes `count` frames through the pool keeping `inFlight` of them queued or running, as a camera would. */
async function stream(pool: WorkerPool, frames: Buffer[], count: number, request: DetectRequest, inFlight: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) await detectFaces(pool, frames[next++ % frames.length], request);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (count / (performance.now() - started)) * 1000;
}

/**
 * Event-loop lag (ms) of this thread while `work` runs, and the share of that
 * time the loop was busy: a lag with a low busy share comes from the OS
 * scheduler (cores shared with the workers), not from work on the loop.
 */
async function loopLagDuring<T>(work: () => Promise<T>): Promise<{ result: T; p99: number; max: number; busy: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  const before = performance.eventLoopUtilization();
  histogram.enable();
  const result = await work();
  histogram.disable();
  const busy = performance.eventLoopUtilization(before).utilization;
  return { result, p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6, busy };
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20;
const signed = (mb: number) => `${mb >= 0 ? '+' : ''}${mb.toFixed(1)}`;

const section: BenchSection = {
  name: 'detection',
  async run(ctx) {
    const out: Measurement[] = [];
    const runs = ctx.quick ? 4 : 20;
    const streamFrames = ctx.quick ? 12 : 48;
    const longStream = ctx.quick ? 200 : 2000;
    const request = (detector: string): DetectRequest => ({ detector, options: { landmarks: true }, policy: 'wait' });

    // Latency: one worker, one frame at a time, decode included.
    const single = new WorkerPool({ threads: 1, maxQueue: 64, taskTimeoutMs: 120_000 });
    const medians: Record<string, number> = {};
    try {
      for (const [width, height] of SIZES) {
        const frames = await makeFrames(width, height);
        for (const detector of DETECTORS) {
          await sequential(single, frames, 2, request(detector)); // model load and wasm warm-up
          const samples = await sequential(single, frames, runs, request(detector));
          medians[`${detector} ${width}`] = percentile([...samples].sort((a, b) => a - b), 50);
          out.push(latency(`latency ${detector} ${width}x${height}`, samples, 'decode + detect + landmarks, 1 worker'));
        }
      }
    } finally {
      await single.close();
    }
    for (const [width] of SIZES) {
      out.push({ name: `speed-up tiny vs ssd at ${width} (p50)`, kind: 'value', value: medians[`ssd-mobilenetv1 ${width}`] / medians[`tiny-face-detector ${width}`], unit: 'x' });
    }

    // Throughput and event-loop lag: a stream of 640x480 frames, two per worker in flight.
    const frames = await makeFrames(640, 480);
    const idle = await loopLagDuring(() => new Promise((resolve) => setTimeout(resolve, 1000)));
    out.push({ name: 'event-loop lag p99, idle (baseline)', kind: 'value', value: idle.p99, unit: 'ms', note: `max ${idle.max.toFixed(1)} ms` });
    const rates: number[] = [];
    for (const threads of [1, 2]) {
      const pool = new WorkerPool({ threads, maxQueue: 64, taskTimeoutMs: 120_000 });
      try {
        await Promise.all(Array.from({ length: threads * 2 }, () => detectFaces(pool, frames[0], request('ssd-mobilenetv1'))));
        const { result: rate, p99, max, busy } = await loopLagDuring(() => stream(pool, frames, streamFrames, request('ssd-mobilenetv1'), threads * 2));
        rates.push(rate);
        out.push({ name: `throughput ssd-mobilenetv1 640x480, ${threads} worker(s)`, kind: 'value', value: rate, unit: 'frames/s', note: `${streamFrames} frames` });
        out.push({ name: `event-loop lag p99 during the ${threads}-worker stream`, kind: 'value', value: p99, unit: 'ms', note: `max ${max.toFixed(1)} ms, loop busy ${(busy * 100).toFixed(1)} %; target < 20 ms` });
      } finally {
        await pool.close();
      }
    }
    out.push({ name: 'throughput 2 workers vs 1', kind: 'value', value: rates[1] / rates[0], unit: 'x', note: 'on a machine with 2 cores shared with the main thread' });

    // Memory: RSS of the whole process (workers included) after warm-up and after a long stream.
    const pool = new WorkerPool({ threads: 2, maxQueue: 64, taskTimeoutMs: 120_000 });
    try {
      await stream(pool, frames, 20, request('tiny-face-detector'), 4);
      const warm = rssMb();
      out.push({ name: 'rss after warm-up (2 workers)', kind: 'value', value: warm, unit: 'MB' });
      const started = performance.now();
      await stream(pool, frames, longStream / 2, request('tiny-face-detector'), 4);
      const halfway = rssMb();
      out.push({ name: `rss after ${longStream / 2} frames`, kind: 'value', value: halfway, unit: 'MB' });
      await stream(pool, frames, longStream / 2, request('tiny-face-detector'), 4);
      const after = rssMb();
      out.push({
        name: `rss after ${longStream} frames`,
        kind: 'value',
        value: after,
        unit: 'MB',
        note: `${signed(after - warm)} MB since warm-up, ${signed(after - halfway)} MB in the second half; tiny-face-detector 640x480, ${((performance.now() - started) / 1000).toFixed(0)} s`,
      });
    } finally {
      await pool.close();
    }
    return out;
  },
};

export default section;

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pgTestUrl } from '../test/support/postgres';

/** One figure of `npm run bench`: a latency distribution (ms) or a rate / size with its unit. */
export type Measurement =
  | { name: string; kind: 'latency'; p50: number; p95: number; p99?: number; samples: number; note?: string }
  | { name: string; kind: 'value'; value: number; unit: string; note?: string };

export interface BenchContext {
  /** `--quick`: fewer iterations, for a smoke run. */
  quick: boolean;
  log(line: string): void;
}

/** A file in bench/sections/ exports one of these as `default`; run.ts finds them all. */
export interface BenchSection {
  name: string;
  run(ctx: BenchContext): Promise<Measurement[]>;
}

/** A section that needs PostgreSQL (PORCHLIGHT_TEST_PG_URL): without it, skipped, and it says so. */
export function postgresSection(name: string, run: BenchSection['run']): BenchSection {
  return {
    name,
    async run(ctx) {
      if (pgTestUrl()) return run(ctx);
      ctx.log(`${name}: skipped, PORCHLIGHT_TEST_PG_URL is not set`);
      return [];
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Summarises raw samples (ms) as a latency measurement. */
export function latency(name: string, samples: number[], note?: string): Measurement {
  const sorted = [...samples].sort((a, b) => a - b);
  return { name, kind: 'latency', p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), samples: sorted.length, note };
}

/**
 * Wall and CPU time (ms) of `calls` runs of `work`, after `warmup` unmeasured
 * ones for the JIT. The CPU time leaves out waiting for a core, which the
 * wall time includes on a machine shared with other work.
 */
export async function timeCalls(calls: number, work: (i: number) => unknown, warmup = 5): Promise<{ wall: number[]; cpu: number[] }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < calls + warmup; i++) {
    const cpuStarted = process.cpuUsage();
    const started = process.hrtime.bigint();
    await work(i);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    const used = process.cpuUsage(cpuStarted);
    if (i < warmup) continue;
    wall.push(elapsed);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wall, cpu };
}

/** Runs `work` and reports its duration and the longest the event loop was held up meanwhile. */
export async function timedWithStall(work: () => Promise<unknown>): Promise<{ ms: number; stallMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const started = process.hrtime.bigint();
  await work();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  histogram.disable();
  return { ms, stallMs: histogram.max / 1e6 };
}

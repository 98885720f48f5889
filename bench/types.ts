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

import { PorchlightError } from '../errors';
/**
 * Tolerances from distance distributions: given distances between faces of
 * the same person (genuine) and of different people (impostor), the largest
 * tolerance whose false-accept rate stays at a target, the true-accept rate
 * it gives, and the whole FAR/TAR curve. Pure numbers, no I/O.
 */

import { normalQuantile } from '../recognize/normal';

export interface DistanceSamples {
  genuine: readonly number[];
  impostor: readonly number[];
}

export interface CurvePoint {
  tolerance: number;
  /** Share of impostor distances at or under the tolerance. */
  far: number;
  /** Share of genuine distances at or under the tolerance; null without genuine samples. */
  tar: number | null;
}

/**
 * `empirical`: the target falls inside the measured impostor distances.
 * `gaussian-tail`: too few impostors lie under the target to measure it, so a
 * normal distribution fitted to the impostor distances is extrapolated.
 */
export type EstimateMethod = 'empirical' | 'gaussian-tail';

export interface ToleranceEstimate {
  tolerance: number;
  targetFar: number;
  method: EstimateMethod;
  /** The true-accept rate on the genuine samples at this tolerance; null without genuine samples. */
  expectedTar: number | null;
  genuine: number;
  impostor: number;
}

/** At least this many impostors under the tolerance to trust the measured quantile. */
export const MIN_TAIL_SAMPLES = 5;

const ascending = (values: readonly number[]): Float64Array => Float64Array.from(values).sort();

/** Share of `sorted` values at or under `threshold` (binary search). */
export function shareAtOrBelow(sorted: Float64Array, threshold: number): number {
  if (sorted.length === 0) return 0;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= threshold) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

/** The standard normal quantile, beside the impostor tables that use it too (recognize does not import calibrate). */
export { normalQuantile };

function meanAndStd(values: Float64Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / Math.max(1, values.length - 1)) };
}

/**
 * The largest tolerance whose false-accept rate on `impostor` is at most
 * `targetFar`: halfway between the last impostor distance allowed in and the
 * first one kept out. When fewer than MIN_TAIL_SAMPLES impostors would be
 * allowed in, the measured quantile is mostly noise and the normal fit's
 * quantile is used instead.
 */
export function toleranceAtFar(impostor: readonly number[], targetFar: number): { tolerance: number; method: EstimateMethod } {
  if (!(targetFar > 0 && targetFar < 1)) throw new PorchlightError('BAD_INPUT', 'the target false-accept rate must lie between 0 and 1');
  if (impostor.length < 2) throw new PorchlightError('BAD_INPUT', 'at least two impostor distances are needed');
  const sorted = ascending(impostor);
  const allowed = Math.floor(targetFar * sorted.length);
  if (allowed >= MIN_TAIL_SAMPLES) {
    const tolerance = allowed >= sorted.length ? sorted[sorted.length - 1] : (sorted[allowed - 1] + sorted[allowed]) / 2;
    return { tolerance, method: 'empirical' };
  }
  const { mean, std } = meanAndStd(sorted);
  return { tolerance: Math.max(0, mean + normalQuantile(targetFar) * std), method: 'gaussian-tail' };
}

/** The suggestion for one set of samples (a household, or one person). */
export function estimateTolerance(samples: DistanceSamples, targetFar: number): ToleranceEstimate {
  const { tolerance, method } = toleranceAtFar(samples.impostor, targetFar);
  const genuine = ascending(samples.genuine);
  return {
    tolerance,
    targetFar,
    method,
    expectedTar: genuine.length ? shareAtOrBelow(genuine, tolerance) : null,
    genuine: samples.genuine.length,
    impostor: samples.impostor.length,
  };
}

/** FAR and TAR at `points` tolerances evenly spread over the range where either changes. */
export function rateCurve(samples: DistanceSamples, points = 41): CurvePoint[] {
  const genuine = ascending(samples.genuine);
  const impostor = ascending(samples.impostor);
  if (genuine.length + impostor.length === 0) return [];
  const lo = Math.min(genuine[0] ?? Infinity, impostor[0] ?? Infinity);
  const hi = Math.max(genuine[genuine.length - 1] ?? -Infinity, impostor[impostor.length - 1] ?? -Infinity);
  const curve: CurvePoint[] = [];
  for (let i = 0; i < points; i++) {
    const tolerance = i === points - 1 ? hi : lo + ((hi - lo) * i) / (points - 1);
    curve.push({ tolerance, far: shareAtOrBelow(impostor, tolerance), tar: genuine.length ? shareAtOrBelow(genuine, tolerance) : null });
  }
  return curve;
}

/**
 * How much a person's own estimate counts against the household's: their
 * impostor comparisons against the number needed to see about ten false
 * accepts at the target (10 / targetFar). With 1 % and 1,000 comparisons the
 * two count alike; a person with few faces stays near the global tolerance.
 */
export function shrinkWeight(impostorSamples: number, targetFar: number): number {
  const needed = 10 / targetFar;
  return impostorSamples / (impostorSamples + needed);
}

/** A person's tolerance: their own estimate pulled towards the global one by `shrinkWeight`. */
export function shrunkTolerance(own: number, global: number, weight: number): number {
  return weight * own + (1 - weight) * global;
}

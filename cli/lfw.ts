import fs from 'node:fs';
import path from 'node:path';
import { PorchlightError } from '../lib/errors';

/**
 * The LFW verification protocol: pair lists (`pairs.txt`: 10 sets of matched
 * then mismatched pairs; `pairsDevTest.txt`: one set) and k-fold accuracy,
 * where each fold's threshold is chosen on the other folds.
 */

export interface LfwPair {
  a: string;
  b: string;
  same: boolean;
}

export interface PairList {
  /** The sets (folds) of the file, in order. */
  sets: LfwPair[][];
}

export function lfwImagePath(imagesDir: string, person: string, index: number): string {
  return path.join(imagesDir, person, `${person}_${String(index).padStart(4, '0')}.jpg`);
}

/** Reads `pairs.txt` (`<sets> <n>` header) or `pairsDevTest.txt` (`<n>` header). */
export function parsePairs(text: string, imagesDir: string): PairList {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const header = lines.shift()?.split(/\s+/).map(Number) ?? [];
  const [sets, perSide] = header.length >= 2 ? header : [1, header[0]];
  if (!Number.isInteger(sets) || !Number.isInteger(perSide) || sets < 1 || perSide < 1) {
    throw new PorchlightError('BAD_INPUT', 'not an LFW pairs file: the first line must be "<sets> <pairs>" or "<pairs>"');
  }
  if (lines.length !== sets * perSide * 2) {
    throw new PorchlightError('BAD_INPUT', `LFW pairs file says ${sets} x 2 x ${perSide} pairs but has ${lines.length} lines`);
  }
  const result: LfwPair[][] = [];
  let at = 0;
  for (let s = 0; s < sets; s++) {
    const set: LfwPair[] = [];
    for (let i = 0; i < perSide * 2; i++, at++) {
      const f = lines[at].split(/\s+/);
      if (f.length === 3) set.push({ a: lfwImagePath(imagesDir, f[0], +f[1]), b: lfwImagePath(imagesDir, f[0], +f[2]), same: true });
      else if (f.length === 4) set.push({ a: lfwImagePath(imagesDir, f[0], +f[1]), b: lfwImagePath(imagesDir, f[2], +f[3]), same: false });
      else throw new PorchlightError('BAD_INPUT', `line ${at + 2} of the pairs file is not a pair: "${lines[at]}"`);
    }
    result.push(set);
  }
  return { sets: result };
}

/** Keeps at most `limit` pairs per set, half matched and half mismatched. */
export function limitPairs(list: PairList, limit: number): PairList {
  const half = Math.max(1, Math.floor(limit / 2));
  return {
    sets: list.sets.map((set) => [...set.filter((p) => p.same).slice(0, half), ...set.filter((p) => !p.same).slice(0, half)]),
  };
}

/** A scored pair: its distance, or null when a face was missing (always counted wrong). */
export interface ScoredPair {
  same: boolean;
  distance: number | null;
}

function correct(pair: ScoredPair, threshold: number): boolean {
  if (pair.distance === null) return false;
  return pair.same ? pair.distance <= threshold : pair.distance > threshold;
}

export function accuracyAt(pairs: readonly ScoredPair[], threshold: number): number {
  if (pairs.length === 0) return NaN;
  let right = 0;
  for (const p of pairs) if (correct(p, threshold)) right++;
  return right / pairs.length;
}

/** The threshold with the best accuracy on these pairs (midpoints between sorted distances). */
export function bestThreshold(pairs: readonly ScoredPair[]): number {
  const distances = pairs.flatMap((p) => (p.distance === null ? [] : [p.distance])).sort((a, b) => a - b);
  if (distances.length === 0) return 0.6;
  const candidates = [distances[0] - 1e-6];
  for (let i = 1; i < distances.length; i++) candidates.push((distances[i - 1] + distances[i]) / 2);
  candidates.push(distances[distances.length - 1] + 1e-6);
  // Count correct answers for every candidate in one sweep, rather than one pass per candidate.
  const events = pairs.flatMap((p) => (p.distance === null ? [] : [{ d: p.distance, same: p.same }])).sort((a, b) => a.d - b.d);
  let best = candidates[0];
  let bestRight = -1;
  let sameBelow = 0;
  let differentBelow = 0;
  const totalDifferent = events.filter((e) => !e.same).length;
  let e = 0;
  for (const t of candidates) {
    while (e < events.length && events[e].d <= t) {
      if (events[e].same) sameBelow++;
      else differentBelow++;
      e++;
    }
    const right = sameBelow + (totalDifferent - differentBelow);
    if (right > bestRight) {
      bestRight = right;
      best = t;
    }
  }
  return best;
}

export interface FoldReport {
  accuracy: number;
  std: number;
  folds: number[];
  thresholds: number[];
}

function meanAndStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return { mean, std };
}

/** The standard k-fold protocol: each fold is scored at the threshold that is best on all the other folds. */
export function kFold(folds: readonly ScoredPair[][]): FoldReport {
  if (folds.length < 2) throw new PorchlightError('BAD_INPUT', 'k-fold evaluation needs at least two folds');
  const accuracies: number[] = [];
  const thresholds: number[] = [];
  folds.forEach((fold, i) => {
    const training = folds.filter((_, j) => j !== i).flat();
    const threshold = bestThreshold(training);
    thresholds.push(threshold);
    accuracies.push(accuracyAt(fold, threshold));
  });
  const { mean, std } = meanAndStd(accuracies);
  return { accuracy: mean, std, folds: accuracies, thresholds };
}

export function readPairsFile(file: string, imagesDir: string): PairList {
  return parsePairs(fs.readFileSync(file, 'utf8'), imagesDir);
}

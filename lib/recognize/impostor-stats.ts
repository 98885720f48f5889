/**
 * Builds a recognizer's impostor table (see `strangers.ts`) from embeddings
 * of photos grouped by person: every pair of photos of two different people,
 * the lower tail of their distances, extrapolated where too few pairs lie to
 * count them, and how much a person's extra photos add to a stranger's
 * chances. Pure numbers, no I/O: `porchlight eval impostors` feeds it LFW.
 */

import { normalQuantile } from './normal';
import { euclidean } from '../vision/embedder';
import type { ImpostorTable } from './strangers';
import { PorchlightError } from '../errors';

export interface ImpostorTableOptions {
  model: string;
  source: Omit<ImpostorTable['source'], 'people' | 'images' | 'pairs'>;
  /** At most this many photos per person enter the pairs (default 4), so that a few much-photographed people do not dominate. */
  photosPerPerson?: number;
  /** A tail point is measured when at least this many pairs lie under it (default 50); under that it is extrapolated. */
  minPairs?: number;
  /** The table runs from 10^-1 down to 10^lowest (default -10), in steps of 10^step (default 0.25). */
  lowest?: number;
  step?: number;
}

/** Every distance between photos of two different people, ascending. */
export function impostorDistances(people: ReadonlyArray<readonly Float32Array[]>): Float32Array {
  const photos: Float32Array[] = [];
  const owner: number[] = [];
  people.forEach((faces, p) => faces.forEach((face) => (photos.push(face), owner.push(p))));
  let pairs = 0;
  const sizes = people.map((f) => f.length);
  const total = photos.length;
  pairs = (total * (total - 1)) / 2 - sizes.reduce((s, n) => s + (n * (n - 1)) / 2, 0);
  const out = new Float32Array(pairs);
  let k = 0;
  for (let i = 0; i < total; i++) {
    for (let j = i + 1; j < total; j++) if (owner[i] !== owner[j]) out[k++] = euclidean(photos[i], photos[j]);
  }
  return out.sort();
}

/** The distance under which a share `rate` of the sorted distances lie (the k-th smallest, k = rate x n). */
function quantile(sorted: Float32Array, rate: number): number {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(rate * sorted.length) - 1));
  return sorted[k];
}

/** Least squares line y = a + b x. */
function fitLine(xs: readonly number[], ys: readonly number[]): { a: number; b: number } {
  const n = xs.length;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const b = sxx > 0 ? sxy / sxx : 0;
  return { a: my - b * mx, b };
}

/**
 * The tail: measured quantiles while at least `minPairs` pairs lie under
 * them; further down, a normal tail fitted to the last two measured decades
 * (the distance is a straight line in the normal quantile of F there), which
 * ignores the handful of nearest pairs: in LFW those are mostly the same
 * person under two names or a mislabelled photo.
 */
export function tailOf(sorted: Float32Array, options: { minPairs?: number; lowest?: number; step?: number } = {}): { tail: Array<[number, number]>; measuredDownTo: number } {
  const minPairs = options.minPairs ?? 50;
  const lowest = options.lowest ?? -10;
  const step = options.step ?? 0.25;
  const floor = Math.log10(minPairs / sorted.length);
  const xs: number[] = [];
  for (let x = -1; x >= lowest - 1e-9; x -= step) xs.push(Math.round(x * 100) / 100);
  const measured = xs.filter((x) => x >= floor);
  if (measured.length < 3) throw new PorchlightError('BAD_INPUT', `too few impostor pairs (${sorted.length}) to measure a tail`);
  const fitted = measured.filter((x) => x <= measured[measured.length - 1] + 2);
  const line = fitLine(
    fitted.map((x) => normalQuantile(10 ** x)),
    fitted.map((x) => quantile(sorted, 10 ** x)),
  );
  const tail = xs.map((x): [number, number] => [x, round4(x >= floor ? quantile(sorted, 10 ** x) : line.a + line.b * normalQuantile(10 ** x))]);
  // Keep the distance falling with F where measured and fitted parts meet.
  for (let i = 1; i < tail.length; i++) tail[i][1] = Math.min(tail[i][1], tail[i - 1][1]);
  return { tail, measuredDownTo: measured[measured.length - 1] };
}

/**
 * How many independent chances a person with n photos gives a stranger,
 * as n^e: for people with at least 8 photos, the share of strangers' photos
 * within d of the nearest of their first n photos (n = 2, 4, 8), against the
 * share within d of one photo, at the distances where one photo lets 1 in
 * 100 and 1 in 1,000 through. e = 1 would be fully independent photos.
 */
export function photosExponentOf(people: ReadonlyArray<readonly Float32Array[]>, sorted: Float32Array, strangerPhotos = 4): number {
  const targets = people.map((faces, i) => ({ faces, i })).filter((p) => p.faces.length >= 8);
  if (targets.length === 0) return 1;
  const thresholds = [quantile(sorted, 1e-2), quantile(sorted, 1e-3)];
  const sizes = [1, 2, 4, 8];
  const hits = sizes.map(() => thresholds.map(() => 0));
  for (const target of targets) {
    people.forEach((faces, j) => {
      if (j === target.i) return;
      for (const probe of faces.slice(0, strangerPhotos)) {
        let nearest = Infinity;
        const byCount: number[] = [];
        for (let k = 0; k < 8; k++) {
          nearest = Math.min(nearest, euclidean(probe, target.faces[k]));
          byCount[k + 1] = nearest;
        }
        sizes.forEach((n, s) => thresholds.forEach((t, q) => byCount[n] <= t && hits[s][q]++));
      }
    });
  }
  let num = 0;
  let den = 0;
  for (let s = 1; s < sizes.length; s++) {
    for (let q = 0; q < thresholds.length; q++) {
      if (hits[0][q] === 0 || hits[s][q] === 0) continue;
      const ln = Math.log(sizes[s]);
      num += Math.log(hits[s][q] / hits[0][q]) * ln;
      den += ln * ln;
    }
  }
  return den > 0 ? Math.round(Math.min(1, Math.max(0, num / den)) * 1000) / 1000 : 1;
}

/** The table for one model from the embeddings of each person's photos (photos without a face left out by the caller). */
export function buildImpostorTable(people: ReadonlyArray<readonly Float32Array[]>, options: ImpostorTableOptions): ImpostorTable {
  const cap = options.photosPerPerson ?? 4;
  const capped = people.map((faces) => faces.slice(0, cap)).filter((faces) => faces.length > 0);
  const sorted = impostorDistances(capped);
  const { tail, measuredDownTo } = tailOf(sorted, options);
  return {
    model: options.model,
    metric: 'euclidean',
    source: { ...options.source, people: capped.length, images: capped.reduce((s, f) => s + f.length, 0), pairs: sorted.length },
    photosExponent: photosExponentOf(people, sorted),
    tail,
    measuredDownTo,
  };
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}

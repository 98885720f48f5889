/**
 * The tolerance as people read it: "strangers let through: about 1 in 1,000
 * visits", turned into a distance for the recognizer in use and the size of
 * the gallery. Pure numbers, no Node-RED, no I/O.
 *
 * Each recognizer model ships a table of its impostor distances, measured on
 * LFW (`lib/recognize/impostors/*.json`, made by `porchlight eval impostors`):
 * F(d), the share of pairs of photos of two different people closer than d.
 * A stranger is named as someone when their nearest enrolled face lies within
 * the tolerance. With M independent chances that happens with probability
 * 1 - (1 - F(d))^M, so for a target rate r the distance is the d at which
 * F(d) = 1 - (1 - r)^(1/M): every enrolled face is another chance, and a
 * bigger gallery gets a stricter distance.
 *
 * M counts people, each weighed by how many photos they have: two photos of
 * the same person are not two independent chances (a stranger close to one is
 * often close to the other), so a person with n photos counts as n^e with the
 * exponent e measured with the table (`photosExponent`).
 */

import faceApiResNet from './impostors/faceapi-resnet128.json';
import mobileFaceNet from './impostors/mobilefacenet.json';

/** The impostor distances of one recognizer model, as `porchlight eval impostors` writes them. */
export interface ImpostorTable {
  /** The model id embeddings carry (`faceapi-resnet128`, `onnx:<file>@<sha256 prefix>`). */
  model: string;
  /** Euclidean distance between embeddings, as the matcher compares them. */
  metric: 'euclidean';
  /** Where the numbers come from. */
  source: {
    dataset: string;
    pipeline: string;
    people: number;
    images: number;
    /** Pairs of photos of two different people measured. */
    pairs: number;
    /** How the people were chosen (half of LFW; the other half is left for `eval openset`). */
    split: string;
  };
  /** A person with n photos counts as n^photosExponent chances (1: every photo is independent). */
  photosExponent: number;
  /**
   * The lower tail of F: `[log10 F, distance]`, F falling (and the distance
   * with it). Points with log10 F under `measuredDownTo` are extrapolated
   * (too few pairs lie there to count them).
   */
  tail: Array<[number, number]>;
  measuredDownTo: number;
}

const TABLES: readonly ImpostorTable[] = [mobileFaceNet as ImpostorTable, faceApiResNet as ImpostorTable];

/** The settings the dialog offers: 1 in N visits. */
export const STRANGER_RATE_CHOICES: readonly number[] = [100, 1000, 10000, 100000];
export const DEFAULT_STRANGERS_ONE_IN = 1000;

/** The shipped table for a model id, if there is one. */
export function impostorTableFor(model: string | undefined, tables: readonly ImpostorTable[] = TABLES): ImpostorTable | undefined {
  return model === undefined ? undefined : tables.find((t) => t.model === model);
}

/** Reads a "1 in N" setting: a number of at least 2, else the default. */
export function parseStrangersOneIn(value: unknown): number {
  const n = Number(value);
  return value !== '' && value !== null && Number.isFinite(n) && n >= 2 ? n : DEFAULT_STRANGERS_ONE_IN;
}

/** Who is enrolled for one model: the number of photos (embeddings) of each person. */
export interface GallerySize {
  /** One entry per enrolled person: how many photos they have for this model. */
  photosPerPerson: readonly number[];
}

/** The number of independent chances a stranger has against this gallery (at least 1). */
export function effectiveGallery(gallery: GallerySize, photosExponent: number): number {
  let m = 0;
  for (const n of gallery.photosPerPerson) if (n > 0) m += n ** photosExponent;
  return Math.max(1, m);
}

/** The share of single stranger-vs-photo comparisons that may fall within the tolerance, for `rate` per visit over `chances`. */
export function pairRateFor(rate: number, chances: number): number {
  // 1 - (1 - r)^(1/M), without losing the digits of a tiny r.
  return -Math.expm1(Math.log1p(-rate) / chances);
}

/** The stranger rate per visit that a share `pairRate` of single comparisons gives over `chances`. */
export function visitRateFor(pairRate: number, chances: number): number {
  return -Math.expm1(chances * Math.log1p(-pairRate));
}

/** The distance d at which F(d) = pairRate (log-linear between the table's points, clamped at its ends). */
export function distanceAtPairRate(table: ImpostorTable, pairRate: number): number {
  const tail = table.tail;
  const x = Math.log10(Math.max(pairRate, Number.MIN_VALUE));
  if (x >= tail[0][0]) return tail[0][1];
  for (let i = 1; i < tail.length; i++) {
    const [x1, d1] = tail[i];
    if (x >= x1) {
      const [x0, d0] = tail[i - 1];
      return d0 + ((x - x0) / (x1 - x0)) * (d1 - d0);
    }
  }
  return tail[tail.length - 1][1];
}

/** F(d): the share of impostor comparisons within distance d (the inverse of `distanceAtPairRate`). */
export function pairRateAtDistance(table: ImpostorTable, distance: number): number {
  const tail = table.tail;
  if (distance >= tail[0][1]) return 10 ** tail[0][0];
  for (let i = 1; i < tail.length; i++) {
    const [x1, d1] = tail[i];
    if (distance >= d1) {
      const [x0, d0] = tail[i - 1];
      return 10 ** (d0 === d1 ? x1 : x0 + ((distance - d0) / (d1 - d0)) * (x1 - x0));
    }
  }
  return 10 ** tail[tail.length - 1][0];
}

/** The distance in force, and what it was derived from (for the status and `/porchlight/health`). */
export interface StrangerTolerance {
  distance: number;
  /** The setting: about 1 in `oneIn` visits by a stranger names someone. */
  oneIn: number;
  model: string;
  /** Enrolled people with photos for the model. */
  people: number;
  photos: number;
  /** Their worth in independent chances (see `effectiveGallery`). */
  chances: number;
  /** True when the distance lies beyond what the table measured (extrapolated). */
  extrapolated: boolean;
}

/**
 * The tolerance for "about 1 in `oneIn` strangers let through" with this
 * model and gallery; undefined when the model has no shipped table (the
 * caller falls back to the recognizer's own fixed tolerance).
 */
export function strangerTolerance(
  model: string | undefined,
  oneIn: number,
  gallery: GallerySize,
  tables: readonly ImpostorTable[] = TABLES,
): StrangerTolerance | undefined {
  const table = impostorTableFor(model, tables);
  if (!table) return undefined;
  const chances = effectiveGallery(gallery, table.photosExponent);
  const pairRate = pairRateFor(1 / oneIn, chances);
  return {
    distance: round3(distanceAtPairRate(table, pairRate)),
    oneIn,
    model: table.model,
    people: gallery.photosPerPerson.filter((n) => n > 0).length,
    photos: gallery.photosPerPerson.reduce((s, n) => s + n, 0),
    chances: Math.round(chances * 100) / 100,
    extrapolated: Math.log10(pairRate) < table.measuredDownTo,
  };
}

/** "1,000", for the status text. */
export function formatOneIn(oneIn: number): string {
  return Math.round(oneIn).toLocaleString('en-US');
}

/** "distance 0.87 for 1 in 1,000 · 20 people". */
export function describeStrangerTolerance(t: StrangerTolerance): string {
  return `distance ${t.distance.toFixed(2)} for 1 in ${formatOneIn(t.oneIn)} · ${t.people} ${t.people === 1 ? 'person' : 'people'}`;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

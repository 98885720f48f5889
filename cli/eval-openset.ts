import crypto from 'node:crypto';
import fs from 'node:fs';
import { type Match, Matcher } from '../lib/match';
import { buildImpostorTable, decideFace, DEFAULT_STRANGERS_ONE_IN, effectiveGallery, type ImpostorTable, impostorTableFor, pairRateAtDistance, strangerTolerance, visitRateFor } from '../lib/recognize';
import { parseNumber } from '../lib/settings';
import { embedRequestFor, type EngineSelection, modelIdForSelection, selectBackend } from '../lib/engine';
import { openPool } from './common';
import { embedImagesCached, embeddingCacheFile, imagesByPerson, type CachedEmbedding } from './embedding-cache';
import { PorchlightError } from '../lib/errors';

/**
 * LFW's people split in two halves by a hash of their name: `tables` for the
 * impostor tables shipped with the package (`porchlight eval impostors`),
 * `evaluation` for `porchlight eval openset`, so that the open-set figures
 * are measured on people the tables never saw.
 */
export function lfwHalf(person: string): 'tables' | 'evaluation' {
  return (crypto.createHash('sha1').update(person).digest()[0] & 1) === 0 ? 'tables' : 'evaluation';
}

export interface LfwEmbeddingOptions {
  images: string;
  threads: number;
  /** The engine's pipeline; undefined for the default (`auto`, as face-recognize picks it). */
  selection?: EngineSelection;
  /** Cache file; undefined for the default one in the temp folder, null for none. */
  cache?: string | null;
  log: (line: string) => void;
}

export interface PersonPhotos {
  person: string;
  /** Photos of this person in the folder (`photos` may hold only the first few: those a run needs). */
  total: number;
  /** Per photo, in file order: its embedding, or null when no face was found. */
  photos: CachedEmbedding[];
}

/** Embeds (or reads from the cache) every image of an LFW-style folder through the engine's pipeline, grouped by person. */
export async function embedLfwByPerson(
  options: LfwEmbeddingOptions,
  half?: 'tables' | 'evaluation',
  pick: (files: string[], person: string) => string[] = (files) => files,
): Promise<{ people: PersonPhotos[]; selection: EngineSelection }> {
  if (!fs.existsSync(options.images) || !fs.statSync(options.images).isDirectory()) throw new PorchlightError('BAD_INPUT', `no such images folder: ${options.images}`);
  const byPerson = [...imagesByPerson(options.images)]
    .filter(([person]) => half === undefined || lfwHalf(person) === half)
    .map(([person, files]): [string, string[], number] => [person, pick(files, person), files.length]);
  const pool = openPool(options.threads);
  try {
    let selection = options.selection;
    if (!selection) {
      selection = await selectBackend(pool, 'auto');
      options.log(`engine: ${selection.reason}`);
    }
    const request = { ...embedRequestFor(selection), flip: true };
    const cacheFile = options.cache === null ? undefined : options.cache ?? embeddingCacheFile('lfw-all', request);
    const embedded = await embedImagesCached(pool, byPerson.flatMap(([, files]) => files), request, {
      root: options.images,
      cacheFile,
      concurrency: options.threads * 2,
      log: options.log,
    });
    return { people: byPerson.map(([person, files, total]) => ({ person, total, photos: files.map((f) => embedded.get(f) ?? null) })), selection };
  } finally {
    await pool.close();
  }
}

/** `porchlight eval impostors`: the impostor table of the engine's recognizer, from the `tables` half of LFW. */
export async function evalImpostors(options: LfwEmbeddingOptions): Promise<ImpostorTable> {
  // The photos the table uses: up to 4 per person, 8 of those who have 8 (for the photos exponent).
  const { people, selection } = await embedLfwByPerson(options, 'tables', (files) => files.slice(0, files.length >= 8 ? 8 : 4));
  const faces = people.map((p) => p.photos.filter((e): e is Float32Array => e !== null));
  const model = modelIdForSelection(selection);
  return buildImpostorTable(faces, {
    model,
    source: {
      dataset: 'LFW deep-funneled (the images of pairs.txt and pairsDevTest.txt)',
      pipeline: `${selection.detector} + ${model} + flip`,
      split: 'people whose SHA-1(name) starts with an even byte; the others are left for porchlight eval openset',
    },
  });
}

export interface OpensetOptions extends LfwEmbeddingOptions {
  /** Gallery sizes in people (default 10, 20, 50, 100, 200). */
  sizes: number[];
  /** Photos enrolled per person (default 2). */
  enrolPhotos: number;
  /** Galleries drawn per size (default 5). */
  trials: number;
  /** At most this many probe photos per known person (default 10) and per stranger (default 4). */
  knownProbes: number;
  strangerProbes: number;
  /** At most this many strangers (people) per trial; undefined for all (a smaller run, for tests). */
  maxStrangers?: number;
  /** The setting whose figures are reported: 1 in N (default 1,000). */
  oneIn: number;
  margin: number;
}

export const DEFAULT_OPENSET = { sizes: [10, 20, 50, 100, 200], enrolPhotos: 2, trials: 5, knownProbes: 10, strangerProbes: 4, margin: 0.05 };

/** The settings the curve runs through (1 in N visits). */
const CURVE = [10, 30, 100, 300, 1000, 3000, 10_000, 30_000, 100_000];

export interface OpensetPoint {
  oneIn: number;
  /** The distance in force for this gallery (the same in every trial: every person has `enrolPhotos` photos). */
  distance: number;
  /** Known probes named as the right person. */
  knownRight: number;
  /** Known probes named as someone else. */
  knownWrong: number;
  /** Stranger probes named as someone. */
  strangersAccepted: number;
  /** What the table predicts for the strangers: 1 - (1 - F(d))^chances. */
  strangersExpected: number;
}

export interface OpensetGallery {
  people: number;
  trials: number;
  knownProbes: number;
  strangerProbes: number;
  /** Probes where no face was found (counted as not named: a miss for a known probe). */
  noFace: number;
  atSetting: OpensetPoint;
  curve: OpensetPoint[];
}

export interface OpensetReport {
  model: string;
  pipeline: string;
  split: string;
  enrolPhotos: number;
  oneIn: number;
  galleries: OpensetGallery[];
  seconds: number;
}

const order = (trial: number, person: string) => crypto.createHash('sha1').update(`${trial}:${person}`).digest('hex');

interface Probe {
  person: string;
  embedding: Float32Array | null;
  known: boolean;
}

/** Trial `trial`'s gallery of `size` people (drawn from those with more photos than are enrolled) and its strangers: everyone else. */
function drawTrial<T extends { person: string; total: number }>(size: number, trial: number, everyone: readonly T[], options: OpensetOptions): { gallery: T[]; strangers: T[] } {
  const byOrder = (a: T, b: T) => (order(trial, a.person) < order(trial, b.person) ? -1 : 1);
  const gallery = everyone.filter((p) => p.total > options.enrolPhotos).sort(byOrder).slice(0, size);
  const inGallery = new Set(gallery.map((p) => p.person));
  let strangers = everyone.filter((p) => !inGallery.has(p.person));
  if (options.maxStrangers !== undefined) strangers = strangers.sort(byOrder).slice(0, options.maxStrangers);
  return { gallery, strangers };
}

/** One gallery size: `trials` galleries, each probed with its people's other photos and with strangers. */
function runGallery(size: number, everyone: PersonPhotos[], model: string, options: OpensetOptions): OpensetGallery {
  const settings = [...new Set([...CURVE, options.oneIn])].sort((a, b) => a - b);
  const tally = settings.map((oneIn) => ({ oneIn, distance: 0, knownRight: 0, knownWrong: 0, strangersAccepted: 0, strangersExpected: 0 }));
  let knownProbes = 0;
  let strangerProbes = 0;
  let noFace = 0;
  const table = impostorTableFor(model);
  for (let trial = 0; trial < options.trials; trial++) {
    const { gallery, strangers } = drawTrial(size, trial, everyone, options);
    const matcher = new Matcher();
    const photosPerPerson: number[] = [];
    let faceId = 0;
    gallery.forEach((p, i) => {
      const enrolled = p.photos.slice(0, options.enrolPhotos).filter((e): e is Float32Array => e !== null);
      photosPerPerson.push(enrolled.length);
      matcher.add(
        { id: i + 1, name: p.person, list: 'known' },
        enrolled.map((embedding) => ({ faceId: ++faceId, personId: i + 1, model, embedding, kind: 'positive' as const })),
      );
    });
    const probes: Probe[] = [
      ...gallery.flatMap((p) => p.photos.slice(options.enrolPhotos, options.enrolPhotos + options.knownProbes).map((embedding) => ({ person: p.person, embedding, known: true }))),
      ...strangers.flatMap((p) => p.photos.slice(0, options.strangerProbes).map((embedding) => ({ person: p.person, embedding, known: false }))),
    ];
    const nearest: Array<Match[] | null> = probes.map((probe) => (probe.embedding ? matcher.nearest(probe.embedding, model, 5) : null));
    for (const probe of probes) {
      if (probe.known) knownProbes++;
      else strangerProbes++;
      if (!probe.embedding) noFace++;
    }
    settings.forEach((oneIn, s) => {
      const tolerance = strangerTolerance(model, oneIn, { photosPerPerson });
      if (!tolerance || !table) throw new PorchlightError('BAD_INPUT', `no impostor table ships for the model ${model}: eval openset cannot turn "1 in ${oneIn}" into a distance`);
      tally[s].distance = tolerance.distance;
      tally[s].strangersExpected = visitRateFor(pairRateAtDistance(table, tolerance.distance), effectiveGallery({ photosPerPerson }, table.photosExponent));
      probes.forEach((probe, i) => {
        const candidates = nearest[i];
        if (!candidates) return;
        const decision = decideFace(candidates, { tolerance: tolerance.distance, margin: options.margin });
        if (decision.status !== 'known') return;
        if (!probe.known) tally[s].strangersAccepted++;
        else if (decision.match?.name === probe.person) tally[s].knownRight++;
        else tally[s].knownWrong++;
      });
    });
  }
  const points: OpensetPoint[] = tally.map((t) => ({
    oneIn: t.oneIn,
    distance: t.distance,
    knownRight: t.knownRight / Math.max(1, knownProbes),
    knownWrong: t.knownWrong / Math.max(1, knownProbes),
    strangersAccepted: t.strangersAccepted / Math.max(1, strangerProbes),
    strangersExpected: t.strangersExpected,
  }));
  return {
    people: size,
    trials: options.trials,
    knownProbes,
    strangerProbes,
    noFace,
    atSetting: points.find((p) => p.oneIn === options.oneIn)!,
    curve: points.filter((p) => CURVE.includes(p.oneIn)),
  };
}

/** `porchlight eval openset`: open-set identification on the `evaluation` half of LFW. */
export async function evalOpenset(options: OpensetOptions): Promise<OpensetReport> {
  const started = Date.now();
  if (!fs.existsSync(options.images) || !fs.statSync(options.images).isDirectory()) throw new PorchlightError('BAD_INPUT', `no such images folder: ${options.images}`);
  // Plan first (by names and photo counts only), so that only the photos the galleries and strangers use are embedded.
  const listed = [...imagesByPerson(options.images)].filter(([person]) => lfwHalf(person) === 'evaluation').map(([person, files]) => ({ person, total: files.length }));
  const eligible = listed.filter((p) => p.total > options.enrolPhotos).length;
  const largest = Math.max(...options.sizes);
  if (largest > eligible) {
    throw new PorchlightError('BAD_INPUT', `a gallery of ${largest} people needs that many people with more than ${options.enrolPhotos} photos; this half of the folder has ${eligible}`);
  }
  const needed = new Map<string, number>();
  const need = (person: string, photos: number) => needed.set(person, Math.max(needed.get(person) ?? 0, photos));
  for (const size of options.sizes) {
    for (let trial = 0; trial < options.trials; trial++) {
      const { gallery, strangers } = drawTrial(size, trial, listed, options);
      gallery.forEach((p) => need(p.person, options.enrolPhotos + options.knownProbes));
      strangers.forEach((p) => need(p.person, options.strangerProbes));
    }
  }
  const { people, selection } = await embedLfwByPerson(options, 'evaluation', (files, person) => files.slice(0, needed.get(person) ?? 0));
  const model = modelIdForSelection(selection);
  const galleries = options.sizes.map((size) => runGallery(size, people, model, options));
  return {
    model,
    pipeline: `${selection.detector} + ${model} + flip`,
    split: `the evaluation half of ${options.images} (people whose SHA-1(name) starts with an odd byte): ${people.length} people, ${eligible} with more than ${options.enrolPhotos} photos`,
    enrolPhotos: options.enrolPhotos,
    oneIn: options.oneIn,
    galleries,
    seconds: (Date.now() - started) / 1000,
  };
}

const pct = (v: number) => `${(v * 100).toFixed(v < 0.1 ? 2 : 1)} %`;

export function formatOpenset(report: OpensetReport): string {
  const oneIn = report.oneIn.toLocaleString('en-US');
  const lines = [
    `open-set identification, ${report.pipeline}, ${report.enrolPhotos} photos enrolled per person`,
    `${report.split}`,
    '',
    `at the setting "strangers let through: about 1 in ${oneIn} visits":`,
    'people  distance  known named right  named wrong  strangers named (expected)  probes known/strangers',
  ];
  for (const g of report.galleries) {
    const p = g.atSetting;
    lines.push(
      `${String(g.people).padStart(6)}  ${p.distance.toFixed(3).padStart(8)}  ${pct(p.knownRight).padStart(17)}  ${pct(p.knownWrong).padStart(11)}  ${`${pct(p.strangersAccepted)} (${pct(p.strangersExpected)})`.padStart(26)}  ${g.knownProbes}/${g.strangerProbes}`,
    );
  }
  lines.push('', 'curve: known named right / strangers named, per setting (1 in N visits)');
  lines.push(`people  ${report.galleries[0]?.curve.map((p) => `1 in ${p.oneIn.toLocaleString('en-US')}`.padStart(16)).join('')}`);
  for (const g of report.galleries) {
    lines.push(`${String(g.people).padStart(6)}  ${g.curve.map((p) => `${(p.knownRight * 100).toFixed(1)}/${(p.strangersAccepted * 100).toFixed(2)}`.padStart(16)).join('')}`);
  }
  lines.push('', `${report.seconds.toFixed(0)} s`);
  return lines.join('\n');
}

type Io = { out: (line: string) => void; err: (line: string) => void };

export function countOption(value: string | undefined, name: string, fallback: number, min = 1): number {
  return parseNumber(value, `--${name}`, { min, whole: true }, 'USAGE') ?? fallback;
}

/** `porchlight eval openset` and `porchlight eval impostors`, from the parsed command line. */
export async function runEvalLfwPeople(
  command: 'openset' | 'impostors',
  values: { images?: string; json?: boolean; sizes?: string; trials?: string; strangers?: string; 'max-strangers'?: string; margin?: string; out?: string; cache?: string; 'no-cache'?: boolean },
  context: { threads: number; selection?: EngineSelection },
  io: Io,
): Promise<number> {
  if (!values.images) throw new PorchlightError('USAGE', `eval ${command} needs --images <lfw folder> (lfw_deepfunneled)`);
  const base: LfwEmbeddingOptions = {
    images: values.images,
    threads: context.threads,
    selection: context.selection,
    cache: values['no-cache'] ? null : values.cache,
    log: values.json ? () => undefined : io.err,
  };
  if (command === 'impostors') {
    const table = await evalImpostors({ ...base, log: io.err });
    const text = `${JSON.stringify(table, null, 1).replace(/\[\n\s*(-?[\d.e-]+),\n\s*(-?[\d.e-]+)\n\s*\]/g, '[$1, $2]')}\n`;
    if (values.out) fs.writeFileSync(values.out, text);
    else io.out(text.trimEnd());
    return 0;
  }
  const sizes = values.sizes === undefined ? DEFAULT_OPENSET.sizes : values.sizes.split(',').map((v) => countOption(v.trim(), 'sizes', 0));
  const margin = parseNumber(values.margin, '--margin', { min: 0 }, 'USAGE') ?? DEFAULT_OPENSET.margin;
  const report = await evalOpenset({
    ...base,
    ...DEFAULT_OPENSET,
    sizes,
    margin,
    trials: countOption(values.trials, 'trials', DEFAULT_OPENSET.trials),
    oneIn: countOption(values.strangers, 'strangers', DEFAULT_STRANGERS_ONE_IN, 2),
    maxStrangers: values['max-strangers'] === undefined ? undefined : countOption(values['max-strangers'], 'max-strangers', 0),
  });
  io.out(values.json ? JSON.stringify(report) : formatOpenset(report));
  return 0;
}

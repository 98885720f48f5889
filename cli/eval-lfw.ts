import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EmbedRequest, modelIdForSelection } from '../lib/engine';
import { euclidean } from '../lib/vision';
import { centralFace, embedFile, mapLimited, openPool } from './common';
import { embeddingCacheLine, readEmbeddingCache } from './embedding-cache';
import { accuracyAt, bestThreshold, kFold, limitPairs, readPairsFile, type ScoredPair } from './lfw';
import { PorchlightError } from '../lib/errors';

export interface EvalOptions {
  images: string;
  pairs: string;
  json: boolean;
  limit?: number;
  threads: number;
  detector: string;
  /** Detector tried on images where `detector` finds nothing; `none` for none. */
  secondDetector: string;
  flip: boolean;
  tolerance: number;
  /** Cache file of embeddings per image; undefined for none. */
  cache?: string;
  /** Detector and recognizer chosen by --backend / --recognizer (cli/models.ts); overrides `detector`. */
  engine?: Pick<EmbedRequest, 'detector' | 'detectorConfig' | 'recognizer' | 'recognizerConfig'>;
  log: (line: string) => void;
}

/** What `eval lfw --json` prints. */
export interface EvalReport {
  protocol: string;
  accuracy: number;
  std: number;
  folds: number[];
  thresholds: number[];
  pairs: number;
  /** Images where no face was found (or that could not be read); their pairs count as wrong. */
  failures: string[];
  pipeline: { detector: string; secondDetector: string; flip: boolean; model: string | null };
  /** Only for a single-set list (DevTest): accuracy at the fixed tolerance. */
  accuracyAtTolerance?: { tolerance: number; accuracy: number };
  seconds: number;
}

/** The default cache file, one per pipeline so that runs with other settings never mix. */
export function defaultCacheFile(options: Pick<EvalOptions, 'detector' | 'secondDetector' | 'flip' | 'engine'>): string {
  const { detector, secondDetector, flip, engine } = options;
  const key = crypto.createHash('sha1').update(JSON.stringify({ v: 2, detector, secondDetector, flip, ...(engine ? { engine } : {}) })).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `porchlight-lfw-${key}.ndjson`);
}

export async function evalLfw(options: EvalOptions): Promise<EvalReport> {
  const started = Date.now();
  if (!fs.existsSync(options.images) || !fs.statSync(options.images).isDirectory()) throw new PorchlightError('BAD_INPUT', `no such images folder: ${options.images}`);
  if (!fs.existsSync(options.pairs)) throw new PorchlightError('BAD_INPUT', `no such pairs file: ${options.pairs}`);
  let list = readPairsFile(options.pairs, options.images);
  if (options.limit) list = limitPairs(list, options.limit);
  const images = [...new Set(list.sets.flat().flatMap((p) => [p.a, p.b]))];

  const cache = readEmbeddingCache(options.cache);
  const key = (image: string) => path.relative(options.images, image);
  const todo = images.filter((image) => !cache.has(key(image)));
  options.log(`${images.length} images, ${images.length - todo.length} cached, ${todo.length} to embed with ${options.threads} thread(s)`);

  let model: string | null = null;
  if (todo.length > 0) {
    const pool = openPool(options.threads);
    const out = options.cache ? fs.openSync(options.cache, 'a') : undefined;
    let done = 0;
    try {
      await mapLimited(todo, options.threads * 2, async (image) => {
        const result = await embedFile(pool, image, { detector: options.detector, secondDetector: options.secondDetector, flip: options.flip, ...options.engine });
        const face = 'faces' in result ? centralFace(result.faces.filter((f) => f.embedding), result.width, result.height) : undefined;
        if (face?.model) model = face.model;
        const embedding = face?.embedding ?? null;
        cache.set(key(image), embedding);
        if (out !== undefined) fs.writeSync(out, embeddingCacheLine(key(image), embedding));
        if (++done % 200 === 0) options.log(`  ${done}/${todo.length} images (${Math.round((Date.now() - started) / 1000)} s)`);
      });
    } finally {
      if (out !== undefined) fs.closeSync(out);
      await pool.close();
    }
  }

  const failures = images.filter((image) => cache.get(key(image)) === null).map(key);
  const score = (pair: { a: string; b: string; same: boolean }): ScoredPair => {
    const a = cache.get(key(pair.a));
    const b = cache.get(key(pair.b));
    return { same: pair.same, distance: a && b ? euclidean(a, b) : null };
  };
  const sets = list.sets.map((set) => set.map(score));
  const pairs = sets.reduce((n, set) => n + set.length, 0);
  // The model id comes from an embedding made now, else (every image cached) from the engine's recognizer.
  model ??= options.engine?.recognizer ? modelIdForSelection({ recognizer: options.engine.recognizer, recognizerConfig: options.engine.recognizerConfig ?? {} }) : 'faceapi-resnet128';
  const pipeline = { detector: options.engine?.detector ?? options.detector, secondDetector: options.secondDetector, flip: options.flip, model };
  const seconds = (Date.now() - started) / 1000;
  if (sets.length >= 2) {
    const report = kFold(sets);
    return { protocol: `${sets.length}-fold`, ...report, pairs, failures, pipeline, seconds };
  }
  // One set (pairsDevTest.txt): accuracy at the fixed tolerance, and at the best threshold for reference.
  const threshold = bestThreshold(sets[0]);
  return {
    protocol: 'single set',
    accuracy: accuracyAt(sets[0], threshold),
    std: 0,
    folds: [accuracyAt(sets[0], threshold)],
    thresholds: [threshold],
    pairs,
    failures,
    pipeline,
    accuracyAtTolerance: { tolerance: options.tolerance, accuracy: accuracyAt(sets[0], options.tolerance) },
    seconds,
  };
}

const pct = (v: number) => `${(v * 100).toFixed(2)} %`;

export function formatReport(report: EvalReport): string {
  const lines = [
    `LFW ${report.protocol}: accuracy ${pct(report.accuracy)} ± ${pct(report.std)} over ${report.pairs} pairs`,
    `images without a face: ${report.failures.length}${report.failures.length ? ` (${report.failures.slice(0, 5).join(', ')}${report.failures.length > 5 ? ', ...' : ''})` : ''}`,
  ];
  if (report.folds.length > 1) {
    report.folds.forEach((acc, i) => lines.push(`  fold ${i + 1}: ${pct(acc)} at threshold ${report.thresholds[i].toFixed(3)}`));
  } else {
    lines.push(`  best threshold ${report.thresholds[0].toFixed(3)} (chosen on this set itself: optimistic)`);
  }
  if (report.accuracyAtTolerance) {
    lines.push(`accuracy at tolerance ${report.accuracyAtTolerance.tolerance}: ${pct(report.accuracyAtTolerance.accuracy)}`);
  }
  lines.push(`pipeline: ${report.pipeline.detector} detector (then ${report.pipeline.secondDetector}), ${report.pipeline.model}${report.pipeline.flip ? ' + flip' : ''}; ${report.seconds.toFixed(0)} s`);
  return lines.join('\n');
}

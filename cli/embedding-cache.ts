import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EmbedRequest, isFaceApiDetector, type WorkerPool } from '../lib/engine';
import { centralFace, embedFile, mapLimited } from './common';

/**
 * Embeddings of whole image folders (LFW) kept in an append-only file, one
 * JSON line per image, so that a second run, or another command asking for
 * the same images through the same pipeline, reads them instead of spending
 * minutes of CPU again. A line cut short by an interrupted run is ignored
 * (that image is embedded again).
 */

export type CachedEmbedding = Float32Array | null;

/** Reads a cache file: image key -> embedding, or null for "no face found". */
export function readEmbeddingCache(file: string | undefined): Map<string, CachedEmbedding> {
  const cache = new Map<string, CachedEmbedding>();
  if (!file || !fs.existsSync(file)) return cache;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const entry = JSON.parse(line) as { image: string; embedding: string | null };
      cache.set(entry.image, entry.embedding === null ? null : new Float32Array(new Uint8Array(Buffer.from(entry.embedding, 'base64')).buffer));
    } catch {
      // a line cut short by an interrupted run
    }
  }
  return cache;
}

/** One cache line. */
export function embeddingCacheLine(image: string, embedding: CachedEmbedding): string {
  const encoded = embedding ? Buffer.from(embedding.buffer, embedding.byteOffset, embedding.byteLength).toString('base64') : null;
  return `${JSON.stringify({ image, embedding: encoded })}\n`;
}

const fileDigests = new Map<string, string>();

/** `name@sha256[0..12]` of a model file, so that a cache follows the model's bytes, not where it lies. */
function fileIdentity(file: string): string {
  let digest = fileDigests.get(file);
  if (digest === undefined) {
    digest = fs.existsSync(file) ? crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 12) : 'missing';
    fileDigests.set(file, digest);
  }
  return `${path.basename(file)}@${digest}`;
}

function withFileIdentities(config: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config ?? {})) {
    if (key === 'cacheDir') continue; // where built graphs are kept, not what they compute
    out[key] = key === 'modelPath' && typeof value === 'string' ? fileIdentity(value) : value;
  }
  return out;
}

/**
 * A short key for what an embed request computes: detector, recognizer (model
 * files by content), flip and second detector. Two requests with the same key
 * give the same embeddings.
 */
export function pipelineKey(request: EmbedRequest): string {
  const described = {
    v: 1,
    detector: request.detector ?? 'ssd-mobilenetv1',
    detectorConfig: withFileIdentities(request.detectorConfig),
    recognizer: request.recognizer ?? 'faceapi-resnet128',
    recognizerConfig: withFileIdentities(request.recognizerConfig),
    flip: request.flip ?? true,
    // As embedFaces reads it: face-api's detectors fall back on tiny-face-detector, the ONNX ones on nothing.
    secondDetector: request.secondDetector ?? (isFaceApiDetector(request.detector) ? 'tiny-face-detector' : 'none'),
  };
  return crypto.createHash('sha1').update(JSON.stringify(described)).digest('hex').slice(0, 12);
}

/** `<temp>/porchlight-<prefix>-<pipeline key>.ndjson`. */
export function embeddingCacheFile(prefix: string, request: EmbedRequest): string {
  return path.join(os.tmpdir(), `porchlight-${prefix}-${pipelineKey(request)}.ndjson`);
}

export interface EmbedImagesOptions {
  /** Cache keys are image paths relative to this folder. */
  root: string;
  /** The cache file; undefined for none. */
  cacheFile?: string;
  /** Images in flight at once (default 4). */
  concurrency?: number;
  log?: (line: string) => void;
}

/**
 * The embedding of the central face of each image (null when none is found),
 * from the cache when it has it, else from the pipeline (and then appended to
 * the cache). Returns image path -> embedding for every image asked.
 */
export async function embedImagesCached(
  pool: WorkerPool,
  images: readonly string[],
  request: EmbedRequest,
  options: EmbedImagesOptions,
): Promise<Map<string, CachedEmbedding>> {
  const cache = readEmbeddingCache(options.cacheFile);
  const key = (image: string) => path.relative(options.root, image);
  const todo = [...new Set(images)].filter((image) => !cache.has(key(image)));
  const log = options.log ?? (() => undefined);
  if (todo.length > 0) log(`${images.length} images: ${images.length - todo.length} cached, ${todo.length} to embed`);
  const started = Date.now();
  const out = options.cacheFile && todo.length > 0 ? fs.openSync(options.cacheFile, 'a') : undefined;
  let done = 0;
  try {
    await mapLimited(todo, options.concurrency ?? 4, async (image) => {
      const result = await embedFile(pool, image, { policy: 'wait', ...request });
      const face = 'faces' in result ? centralFace(result.faces.filter((f) => f.embedding), result.width, result.height) : undefined;
      const embedding = face?.embedding ? Float32Array.from(face.embedding) : null;
      cache.set(key(image), embedding);
      if (out !== undefined) fs.writeSync(out, embeddingCacheLine(key(image), embedding));
      if (++done % 200 === 0) log(`  ${done}/${todo.length} images (${Math.round((Date.now() - started) / 1000)} s)`);
    });
  } finally {
    if (out !== undefined) fs.closeSync(out);
  }
  return new Map(images.map((image) => [image, cache.get(key(image)) ?? null]));
}

/** Every image of an LFW-style folder (`<person>/<person>_NNNN.jpg`), people and files sorted. */
export function imagesByPerson(root: string): Map<string, string[]> {
  const people = new Map<string, string[]>();
  for (const person of fs.readdirSync(root).sort()) {
    const dir = path.join(root, person);
    if (!fs.statSync(dir).isDirectory()) continue;
    const files = fs.readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    if (files.length > 0) people.set(person, files.map((f) => path.join(dir, f)));
  }
  return people;
}

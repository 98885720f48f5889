import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { centralFace, embedFile, mapLimited } from '../../cli/common';
import { readPairsFile, type LfwPair } from '../../cli/lfw';
import { embedRequestFor } from '../../lib/engine/enrollment';
import { selectBackend, type EngineSelection } from '../../lib/engine/select';
import type { WorkerPool } from '../../lib/workers/pool';
import { lfwDir, sharedDir } from './paths';

export const lfwPairsFile = path.join(sharedDir, 'datasets', 'lfw', 'pairs.txt');

/** pairs.txt's ten folds (300 matched, then 300 mismatched pairs each), image paths absolute. */
export function lfwFolds(): LfwPair[][] {
  return readPairsFile(lfwPairsFile, lfwDir).sets;
}

/** The pipeline face-recognize and enrollment use on a fresh install: `auto`, i.e. the bundled YuNet + MobileFaceNet. */
export function defaultSelection(pool: WorkerPool): Promise<EngineSelection> {
  return selectBackend(pool, 'auto');
}

/**
 * The embedding of the central face of each LFW image (null when none is
 * found), from the real pipeline. Results are kept in a per-pipeline file in
 * the temp folder, so a second run (or another test file asking for the same
 * images) does not spend minutes embedding them again. The file is keyed by
 * the pipeline's request, not by its code: after changing the pipeline's code,
 * delete `porchlight-test-lfw-*.ndjson` in the temp folder (a first run embeds
 * about 2,500 images for the look-alike and calibration tests, several minutes).
 */
export async function embedLfwImages(
  pool: WorkerPool,
  selection: EngineSelection,
  images: readonly string[],
  log: (line: string) => void = () => undefined,
): Promise<Map<string, Float32Array | null>> {
  const request = embedRequestFor(selection);
  const key = crypto.createHash('sha1').update(JSON.stringify({ v: 1, request })).digest('hex').slice(0, 12);
  const cacheFile = path.join(os.tmpdir(), `porchlight-test-lfw-${key}.ndjson`);
  const cache = new Map<string, Float32Array | null>();
  if (fs.existsSync(cacheFile)) {
    for (const line of fs.readFileSync(cacheFile, 'utf8').split('\n')) {
      try {
        const entry = JSON.parse(line) as { image: string; embedding: string | null };
        cache.set(entry.image, entry.embedding === null ? null : new Float32Array(new Uint8Array(Buffer.from(entry.embedding, 'base64')).buffer));
      } catch {
        // an empty or cut line: that image is embedded again
      }
    }
  }
  const relative = (image: string) => path.relative(lfwDir, image);
  const todo = [...new Set(images)].filter((image) => !cache.has(relative(image)));
  if (todo.length > 0) log(`embedding ${todo.length} LFW images with ${selection.recognizer} (${images.length - todo.length} cached)`);
  const out = fs.openSync(cacheFile, 'a');
  try {
    await mapLimited(todo, 4, async (image) => {
      const result = await embedFile(pool, image, request);
      const face = 'faces' in result ? centralFace(result.faces.filter((f) => f.embedding), result.width, result.height) : undefined;
      const embedding = face?.embedding ? Float32Array.from(face.embedding) : null;
      cache.set(relative(image), embedding);
      const encoded = embedding ? Buffer.from(embedding.buffer).toString('base64') : null;
      fs.writeSync(out, `${JSON.stringify({ image: relative(image), embedding: encoded })}\n`);
    });
  } finally {
    fs.closeSync(out);
  }
  return new Map(images.map((image) => [image, cache.get(relative(image)) ?? null]));
}

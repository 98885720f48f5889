import fs from 'node:fs';
import path from 'node:path';
import { isPorchlightError, PorchlightError } from '../lib/errors';
import { embedFaces, type EmbedRequest, WorkerPool } from '../lib/engine';
import type { EmbeddedFace } from '../lib/vision';

/**
 * Exit codes: 0 success, 1 a file or image problem, 2 wrong usage. A failure is a PorchlightError told in
 * one line: code USAGE exits with 2, any other with 1.
 */
export const USAGE_ERROR = 2;

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase());
}

/** Image files in a folder (not recursive), sorted by name. */
export function imagesIn(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && isImageFile(entry.name))
    .map((entry) => path.join(dir, entry.name))
    .sort();
}

/** Expands the arguments into image files: files as given, folders to the images they hold. */
export function expandImageArgs(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new PorchlightError('BAD_INPUT', `no such file or folder: ${p}`);
    files.push(...(fs.statSync(p).isDirectory() ? imagesIn(p) : [p]));
  }
  return files;
}

/** A worker pool for a CLI run; tasks wait rather than drop. */
export function openPool(threads: number): WorkerPool {
  return new WorkerPool({ threads, maxQueue: threads * 4, taskTimeoutMs: 120_000 });
}

/** Runs `work` over items with at most `concurrency` in flight, results in input order. */
export async function mapLimited<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  });
  await Promise.all(runners);
  return results;
}

export type FileFaces = { file: string; faces: EmbeddedFace[]; width: number; height: number } | { file: string; error: string };

/** Embeds the faces of one image file; an unreadable image becomes an `error` entry rather than a throw. */
export async function embedFile(pool: WorkerPool, file: string, request: EmbedRequest): Promise<FileFaces> {
  try {
    const result = await embedFaces(pool, fs.readFileSync(file), { policy: 'wait', ...request });
    return { file, faces: result.faces, width: result.width, height: result.height };
  } catch (err) {
    if (isPorchlightError(err) || (err as NodeJS.ErrnoException).code) return { file, error: (err as Error).message };
    throw err;
  }
}

/** The face nearest the image centre, weighted towards larger faces (the subject of a portrait or an LFW image). */
export function centralFace<T extends { box: { x: number; y: number; width: number; height: number } }>(
  faces: readonly T[],
  width: number,
  height: number,
): T | undefined {
  let best: T | undefined;
  let bestCost = Infinity;
  for (const face of faces) {
    const cx = face.box.x + face.box.width / 2 - width / 2;
    const cy = face.box.y + face.box.height / 2 - height / 2;
    const cost = Math.hypot(cx, cy) / Math.max(1, Math.sqrt(face.box.width * face.box.height));
    if (cost < bestCost) {
      bestCost = cost;
      best = face;
    }
  }
  return best;
}

/** One face box in the face_recognition CLI order: top,right,bottom,left (whole pixels). */
export function trbl(box: { x: number; y: number; width: number; height: number }): string {
  return [box.y, box.x + box.width, box.y + box.height, box.x].map((v) => Math.round(v)).join(',');
}

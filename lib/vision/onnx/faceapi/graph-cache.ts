import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FaceApiWeights } from './weights';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The graph file as cached, if its bytes still hash to what was recorded when it was built. */
function verified(file: string, checksumFile: string): boolean {
  try {
    const expected = fs.readFileSync(checksumFile, 'utf8').trim();
    return expected.length === 64 && sha256(fs.readFileSync(file)) === expected;
  } catch {
    return false;
  }
}

/** Writes `bytes` aside and renames it into place, so a reader never opens a half-written file. */
function writeAside(file: string, bytes: Uint8Array | string): void {
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(partial, bytes);
  fs.renameSync(partial, file);
}

/**
 * A graph built from face-api's weights, on disk under the checksum of those
 * weights and the builder's version: built at first use, reused afterwards,
 * rebuilt by itself when either changes. Beside it, `<file>.sha256` holds the
 * checksum of the graph's own bytes, checked at every use: a cached graph
 * that was cut short (a full disk, a crash of the file system, a copy
 * interrupted) or altered is rebuilt instead of failing to load, which would
 * send the engine to its slower fallback for good. Both files are written
 * aside and renamed, graph first: a graph whose checksum file is missing or
 * stale is rebuilt, never trusted.
 */
export function cachedGraph(cacheDir: string, name: string, version: number, weights: FaceApiWeights, build: (weights: FaceApiWeights) => Uint8Array): string {
  const file = path.join(cacheDir, `${name}-g${version}-${weights.sha256.slice(0, 16)}.onnx`);
  const checksumFile = `${file}.sha256`;
  if (!verified(file, checksumFile)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    const graph = build(weights);
    writeAside(file, graph);
    writeAside(checksumFile, `${sha256(graph)}\n`);
  }
  return file;
}

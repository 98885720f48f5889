import fs from 'node:fs';
import path from 'node:path';
import type { FaceApiWeights } from './weights';

/**
 * A graph built from face-api's weights, on disk under the checksum of those
 * weights and the builder's version: built at first use, reused afterwards,
 * rebuilt by itself when either changes. Written aside and renamed, so a
 * worker never opens a half-written file.
 */
export function cachedGraph(cacheDir: string, name: string, version: number, weights: FaceApiWeights, build: (weights: FaceApiWeights) => Uint8Array): string {
  const file = path.join(cacheDir, `${name}-g${version}-${weights.sha256.slice(0, 16)}.onnx`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(partial, build(weights));
    fs.renameSync(partial, file);
  }
  return file;
}

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { faceApiModelDir } from '../../tfjs/faceapi-runtime';
import type { PixelFormat } from '../tensor';
import { PorchlightError } from '../../../errors';

/** face-api's input normalisation for its landmark and descriptor nets: (x - mean RGB) / 255. */
export const FACEAPI_PIXELS: PixelFormat = { order: 'rgb', mean: [122.782, 117.001, 104.298], std: [255, 255, 255] };

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'uint8' | 'uint16'; scale: number; min: number };
}

export interface WeightTensor {
  shape: number[];
  values: Float32Array;
}

export interface FaceApiWeights {
  tensors: Map<string, WeightTensor>;
  /** SHA-256 of the manifest and every weight file: the key of a graph built from them. */
  sha256: string;
}

/**
 * Reads one of the weight sets @vladmandic/face-api ships (a tfjs
 * `*-weights_manifest.json` with its `.bin` shards), dequantizing as tfjs
 * does: value = q * scale + min.
 */
export function readFaceApiWeights(model: string, dir = faceApiModelDir()): FaceApiWeights {
  const manifestFile = path.join(dir, `${model}-weights_manifest.json`);
  const manifestBytes = fs.readFileSync(manifestFile);
  const groups = JSON.parse(manifestBytes.toString('utf8')) as Array<{ paths: string[]; weights: ManifestEntry[] }>;
  const hash = createHash('sha256').update(manifestBytes);
  const tensors = new Map<string, WeightTensor>();
  for (const group of groups) {
    const data = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
    hash.update(data);
    let offset = 0;
    for (const entry of group.weights) {
      const count = entry.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(count);
      const q = entry.quantization;
      if (q) {
        const width = q.dtype === 'uint8' ? 1 : 2;
        for (let i = 0; i < count; i++) {
          const raw = width === 1 ? data[offset + i] : data.readUInt16LE(offset + 2 * i);
          values[i] = raw * q.scale + q.min;
        }
        offset += count * width;
      } else {
        const view = new DataView(data.buffer, data.byteOffset + offset, count * 4);
        for (let i = 0; i < count; i++) values[i] = entry.dtype === 'int32' ? view.getInt32(i * 4, true) : view.getFloat32(i * 4, true);
        offset += count * 4;
      }
      tensors.set(entry.name, { shape: entry.shape, values });
    }
    if (offset !== data.length) throw new PorchlightError('MODEL_UNAVAILABLE', `${manifestFile}: the manifest describes ${offset} bytes, the weight files hold ${data.length}`);
  }
  return { tensors, sha256: hash.digest('hex') };
}

/** A named tensor, refusing a missing one or one of an unexpected rank. */
export function weightOf(weights: FaceApiWeights, name: string, rank: number): WeightTensor {
  const tensor = weights.tensors.get(name);
  if (!tensor) throw new PorchlightError('MODEL_UNAVAILABLE', `face-api weights have no tensor "${name}"`);
  if (tensor.shape.length !== rank) throw new PorchlightError('MODEL_UNAVAILABLE', `face-api weight "${name}" has shape ${tensor.shape.join('x')}, expected rank ${rank}`);
  return tensor;
}

/** tfjs conv filters [kh, kw, in, out] -> ONNX [out, in, kh, kw]. */
export function hwioToOihw({ shape: [kh, kw, cin, cout], values }: WeightTensor): WeightTensor {
  const out = new Float32Array(values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = values[((y * kw + x) * cin + i) * cout + o];
  return { shape: [cout, cin, kh, kw], values: out };
}

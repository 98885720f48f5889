import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PorchlightError } from '../../errors';
import type { Point, RawImage } from '../../image/types';
import { defaultModelPath } from '../../models/packs';
import type { Embedder } from '../embedder';
import { alignFivePoint } from './align';
import { checkImageInput, formatShape, openModelFile, runModel, type OnnxModel } from './runtime';
import { IMAGENET_RGB, SYMMETRIC_RGB, toPlanar, type PixelFormat } from './tensor';

export interface OnnxRecognizerConfig {
  /** An ONNX model taking a 1x3x112x112 aligned face; default: the package's bundled MobileFaceNet. */
  modelPath?: string;
  /** `imagenet` (MobileFaceNet trained in PyTorch) or `symmetric` ((x - 127.5) / 127.5, insightface). */
  normalization?: 'imagenet' | 'symmetric';
  /** Channel order the model was trained on. */
  order?: 'rgb' | 'bgr';
  threads?: number;
}

const CHIP_SIZE = 112;

/** The model id an embedding is tagged with: file name and the start of its SHA-256, so two different files never share it. */
export function modelIdOf(modelPath: string): string {
  const digest = createHash('sha256').update(fs.readFileSync(modelPath)).digest('hex');
  return `onnx:${path.basename(modelPath, path.extname(modelPath))}@${digest.slice(0, 12)}`;
}

/**
 * A recognizer of the MobileFaceNet / ArcFace family on ONNX Runtime: a
 * 112x112 face aligned on the 5-point template in, a descriptor out, scaled
 * to unit length so that Euclidean distance ranks like cosine.
 */
export class OnnxRecognizer implements Embedder {
  readonly dimensions: number = 0;
  readonly chip = { size: CHIP_SIZE, padding: 0 };
  private id?: string;
  private onnx?: OnnxModel;
  private readonly modelPath: string;
  private readonly format: PixelFormat;
  private readonly threads: number;

  constructor(config: OnnxRecognizerConfig = {}) {
    this.modelPath = config.modelPath || defaultModelPath('recognizer');
    const base = config.normalization === 'symmetric' ? SYMMETRIC_RGB : IMAGENET_RGB;
    this.format = { ...base, order: config.order ?? 'rgb' };
    this.threads = config.threads ?? 1;
  }

  /** Known after `load()`: the file's id, e.g. `onnx:mobilefacenet_foamliu_alenchen@501048e4bff0`. */
  get model(): string {
    if (!this.id) throw new PorchlightError('INTERNAL', 'the recognizer is not loaded yet');
    return this.id;
  }

  async load(): Promise<void> {
    if (this.onnx) return;
    const model = await openModelFile(this.modelPath, { threads: this.threads });
    checkImageInput(model, 'recognizer', [null, 3, CHIP_SIZE, CHIP_SIZE]);
    const output = model.outputs[0];
    const dimensions = output?.shape.at(-1);
    if (model.outputs.length !== 1 || typeof dimensions !== 'number' || dimensions < 16) {
      throw new PorchlightError(
        'MODEL_UNAVAILABLE',
        `${model.source}: a recognizer gives one embedding output (1xD), got ${model.outputs.map((o) => `${o.name} ${formatShape(o.shape)}`).join(', ')}`,
      );
    }
    (this as { dimensions: number }).dimensions = dimensions;
    this.id = modelIdOf(this.modelPath);
    this.onnx = model;
  }

  /** The chip this model wants, cut from the image by the face's 5 (or 68) landmarks. */
  align(image: RawImage, landmarks: readonly Point[]): RawImage {
    return alignFivePoint(image, landmarks, CHIP_SIZE);
  }

  async embed(chips: RawImage[]): Promise<Float32Array[]> {
    await this.load();
    const out: Float32Array[] = [];
    // One chip per run: most of these models declare a fixed batch of 1.
    for (const chip of chips) {
      const [embedding] = await runModel(this.onnx!, toPlanar(chip, this.format), [1, 3, CHIP_SIZE, CHIP_SIZE]);
      out.push(unitLength(embedding.data as Float32Array));
    }
    return out;
  }
}

function unitLength(v: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i] * v[i];
  const k = norm > 0 ? 1 / Math.sqrt(norm) : 1;
  return Float32Array.from(v, (x) => x * k);
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

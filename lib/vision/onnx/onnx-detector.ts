import type { RawImage } from '../../image/types';
import type { DetectOptions, DetectedFace, Detector, DetectorConfig } from '../types';
import { openModelFile, type OnnxModel } from './runtime';
import { nonMaxSuppression } from './tensor';
import { PorchlightError } from '../../errors';

export interface OnnxDetectorConfig extends DetectorConfig {
  modelPath: string;
  /** Overlap above which the weaker of two boxes is dropped. */
  nmsThreshold: number;
  threads: number;
}

/** Reads the config keys every ONNX detector shares; a missing model path becomes the given default. */
export function onnxDetectorConfig(config: DetectorConfig, defaultModelPath: string): OnnxDetectorConfig {
  const modelPath = config.modelPath === undefined || config.modelPath === '' ? defaultModelPath : config.modelPath;
  if (typeof modelPath !== 'string') throw new PorchlightError('BAD_CONFIG', `modelPath must be a file path, got ${typeof modelPath}`);
  const nmsThreshold = Number(config.nmsThreshold ?? 0.3);
  if (!(nmsThreshold > 0 && nmsThreshold < 1)) throw new PorchlightError('BAD_CONFIG', `nmsThreshold must be between 0 and 1, got ${config.nmsThreshold}`);
  const threads = Number(config.threads ?? 1);
  if (!(Number.isInteger(threads) && threads >= 1)) throw new PorchlightError('BAD_CONFIG', `threads must be a whole number >= 1, got ${config.threads}`);
  return { ...config, modelPath, nmsThreshold, threads };
}

/**
 * What the ONNX detectors share: the session (opened once per thread and
 * validated at load), score filtering and NMS. Subclasses check the model's
 * shape and turn its outputs into candidate faces in image pixels.
 */
export abstract class OnnxDetector<C extends OnnxDetectorConfig = OnnxDetectorConfig> implements Detector {
  abstract readonly name: string;
  readonly backend = 'onnx' as const;
  abstract readonly preferredMaxSide: number;
  protected model?: OnnxModel;

  constructor(protected readonly config: C) {}

  async load(): Promise<void> {
    if (this.model) return;
    const model = await openModelFile(this.config.modelPath, { threads: this.config.threads });
    this.validate(model);
    this.model = model;
  }

  /** Throws a clear MODEL_UNAVAILABLE error when the model is not of this detector's family. */
  protected abstract validate(model: OnnxModel): void;

  /** Every face scoring at least `minScore`, before NMS. */
  protected abstract candidates(model: OnnxModel, image: RawImage, minScore: number): Promise<DetectedFace[]>;

  async detect(image: RawImage, options: DetectOptions): Promise<DetectedFace[]> {
    await this.load();
    const found = await this.candidates(this.model!, image, options.minConfidence);
    return nonMaxSuppression(found, this.config.nmsThreshold, Math.max(1, options.maxFaces));
  }

  dispose(): void {
    // Sessions are cached per thread and shared by every detector using the same file.
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PorchlightError } from '../../errors';
import { DEFAULT_PACK, packFilePath } from '../../models/packs';
import type { WorkerPool } from '../../workers/pool';
import { embedFaces } from '../client';
import type { Backend } from '../types';

export type BackendChoice = 'auto' | Backend;

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tfjs', 'onnx'];

export interface EngineModels {
  /** A YuNet / UltraFace model file; default: the installed pack's YuNet. */
  detectorModel?: string;
  /** `yunet` or `ultraface` (how to read `detectorModel`); default yunet. */
  detectorKind?: 'yunet' | 'ultraface';
  /** A 112x112 5-point recognizer model file; default: the installed pack's MobileFaceNet. */
  recognizerModel?: string;
  /** Node-RED's user dir, where packs are installed. */
  userDir?: string;
}

/** What the engine runs, and why: the detector and recognizer every vision task should name. */
export interface EngineSelection {
  backend: Backend;
  detector: string;
  detectorConfig: Record<string, unknown>;
  recognizer: string;
  recognizerConfig: Record<string, unknown>;
  /** One sentence for the node status, the log and `/porchlight/health`. */
  reason: string;
  /** Time of the ONNX self-test (load included), when one ran. */
  selfTestMs?: number;
}

export const TFJS_SELECTION: Omit<EngineSelection, 'reason'> = {
  backend: 'tfjs',
  detector: 'ssd-mobilenetv1',
  detectorConfig: {},
  recognizer: 'faceapi-resnet128',
  recognizerConfig: {},
};

/** A photo with faces that ships with @vladmandic/face-api, used to prove the ONNX pipeline works here. */
function selfTestImage(): Buffer {
  return fs.readFileSync(path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg'));
}

/** The ONNX models the engine would use, with the first missing file named. */
function onnxSelection(models: EngineModels): { selection: Omit<EngineSelection, 'reason'>; missing?: string } {
  const detectorModel = models.detectorModel || packFilePath(DEFAULT_PACK, 'detector', models.userDir);
  const recognizerModel = models.recognizerModel || packFilePath(DEFAULT_PACK, 'recognizer', models.userDir);
  const missing = [detectorModel, recognizerModel].find((file) => !fs.existsSync(file));
  return {
    selection: {
      backend: 'onnx',
      detector: models.detectorKind ?? 'yunet',
      detectorConfig: { modelPath: detectorModel },
      recognizer: 'onnx',
      recognizerConfig: { modelPath: recognizerModel },
    },
    missing,
  };
}

/**
 * Runs the ONNX detector and recognizer once on the worker pool on a known
 * photo: they must load without falling back, find a face and give a finite
 * unit-length embedding tagged with an ONNX model id.
 */
export async function onnxSelfTest(pool: WorkerPool, selection: Omit<EngineSelection, 'reason'>): Promise<number> {
  const t0 = performance.now();
  const result = await embedFaces(pool, selfTestImage(), {
    detector: selection.detector,
    detectorConfig: selection.detectorConfig,
    recognizer: selection.recognizer,
    recognizerConfig: selection.recognizerConfig,
    options: { minConfidence: 0.6, maxFaces: 1 },
    flip: false,
  });
  if (result.detector !== selection.detector) throw new Error(result.fallbackWarning ?? `the ${selection.detector} detector did not run`);
  const face = result.faces[0];
  if (!face?.embedding) throw new Error('no face found in the test photo');
  const length = Math.hypot(...face.embedding);
  if (!face.model?.startsWith('onnx:') || !(Math.abs(length - 1) < 1e-3)) {
    throw new Error(`the recognizer gave an unusable embedding (model ${face.model}, length ${length})`);
  }
  return performance.now() - t0;
}

/**
 * Picks the backend. `tfjs` is taken as asked; `onnx` must work or this
 * rejects; `auto` takes ONNX when its models are there and pass the self-test,
 * and otherwise tfjs, saying why.
 */
export async function selectBackend(pool: WorkerPool, requested: BackendChoice, models: EngineModels = {}): Promise<EngineSelection> {
  if (requested === 'tfjs') return { ...TFJS_SELECTION, reason: 'tfjs as configured' };
  const { selection, missing } = onnxSelection(models);
  let failure: string;
  if (missing) {
    failure = `ONNX model not found: ${missing} (install with: porchlight models install ${DEFAULT_PACK})`;
  } else {
    try {
      const selfTestMs = await onnxSelfTest(pool, selection);
      const names = [selection.detectorConfig.modelPath, selection.recognizerConfig.modelPath].map((p) => path.basename(String(p)));
      return { ...selection, selfTestMs, reason: `${requested === 'auto' ? 'auto: ' : ''}ONNX self-test passed in ${Math.round(selfTestMs)} ms (${names.join(' + ')})` };
    } catch (err) {
      failure = `ONNX self-test failed: ${(err as Error).message}`;
    }
  }
  if (requested === 'onnx') throw new PorchlightError('MODEL_UNAVAILABLE', failure);
  return { ...TFJS_SELECTION, reason: `auto: tfjs, because ${failure}` };
}

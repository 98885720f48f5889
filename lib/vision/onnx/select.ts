import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PorchlightError } from '../../errors';
import { DEFAULT_PACK, modelsDir, packFilePath } from '../../models/packs';
import type { WorkerPool } from '../../workers/pool';
import { embedFaces } from '../client';
import type { Backend } from '../types';
import { modelIdOf } from './recognizer';

export type BackendChoice = 'auto' | Backend;

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tfjs', 'onnx'];

export interface EngineModels {
  /** A YuNet / UltraFace model file; default: the installed pack's YuNet. */
  detectorModel?: string;
  /** `yunet` or `ultraface` (how to read `detectorModel`); default yunet. */
  detectorKind?: 'yunet' | 'ultraface';
  /** A 112x112 5-point recognizer model file; default: the installed pack's MobileFaceNet. */
  recognizerModel?: string;
  /** Node-RED's user dir, where packs are installed and built graphs cached. */
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
  /**
   * The match tolerance (Euclidean distance between embeddings) that suits
   * the recognizer, for nodes whose user left the tolerance at its default:
   * distances of different models are on different scales.
   */
  tolerance: number;
  /** Time of the ONNX self-test (load included), when one ran. */
  selfTestMs?: number;
  /** Set when the engine runs something other than its first choice: why (naming the model file at fault), for warning statuses. */
  fallback?: string;
}

type Pipeline = Omit<EngineSelection, 'reason' | 'selfTestMs' | 'tolerance' | 'fallback'>;

/** face-api's published tolerance for its ResNet descriptor. */
const FACEAPI_TOLERANCE = 0.6;
/**
 * For unit-length embeddings of the ONNX recognizers (cosine 0.34). LFW 10-fold
 * with YuNet + MobileFaceNet + flip chose 1.19 (cosine 0.30) on every fold;
 * a doorbell leans a little towards "unknown" rather than a wrong name.
 */
const UNIT_EMBEDDING_TOLERANCE = 1.15;

function withReason(pipeline: Pipeline, reason: string, selfTestMs?: number): EngineSelection {
  return { ...pipeline, reason, selfTestMs, tolerance: pipeline.recognizer === 'onnx' ? UNIT_EMBEDDING_TOLERANCE : FACEAPI_TOLERANCE };
}

export const TFJS_SELECTION: Pipeline = {
  backend: 'tfjs',
  detector: 'ssd-mobilenetv1',
  detectorConfig: {},
  recognizer: 'faceapi-resnet128',
  recognizerConfig: {},
};

/** The id the selected recognizer tags embeddings with, known before any embedding is made. */
export function modelIdForSelection(selection: Pick<EngineSelection, 'recognizer' | 'recognizerConfig'>): string {
  if (selection.recognizer === 'onnx') return modelIdOf(String(selection.recognizerConfig.modelPath));
  // face-api's descriptor keeps its id on either backend: its embeddings are the same.
  return selection.recognizer === 'faceapi-resnet128-onnx' ? 'faceapi-resnet128' : selection.recognizer;
}

/** A photo with faces that ships with @vladmandic/face-api, used to prove a pipeline works here. */
function selfTestImage(): Buffer {
  return fs.readFileSync(path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg'));
}

/** YuNet + MobileFaceNet (or the user's files), with the first missing file named. */
function userModelsPipeline(models: EngineModels): { pipeline: Pipeline; missing?: string } {
  const detectorModel = models.detectorModel || packFilePath(DEFAULT_PACK, 'detector', models.userDir);
  const recognizerModel = models.recognizerModel || packFilePath(DEFAULT_PACK, 'recognizer', models.userDir);
  const missing = [detectorModel, recognizerModel].find((file) => !fs.existsSync(file));
  return {
    pipeline: {
      backend: 'onnx',
      detector: models.detectorKind ?? 'yunet',
      detectorConfig: { modelPath: detectorModel },
      recognizer: 'onnx',
      recognizerConfig: { modelPath: recognizerModel },
    },
    missing,
  };
}

/** face-api's own networks as graphs built from the weights it ships: needs nothing installed, same embeddings as tfjs. */
function faceApiOnnxPipeline(models: EngineModels): Pipeline {
  const graphs = { cacheDir: path.join(modelsDir(models.userDir), 'built') };
  return { backend: 'onnx', detector: 'ssd-mobilenetv1-onnx', detectorConfig: graphs, recognizer: 'faceapi-resnet128-onnx', recognizerConfig: graphs };
}

/**
 * Runs a pipeline once on the worker pool on a known photo: its detector must
 * load without falling back and find a face, and its recognizer must give a
 * finite embedding tagged with the expected model id.
 */
export async function selfTest(pool: WorkerPool, pipeline: Pipeline): Promise<number> {
  const t0 = performance.now();
  const result = await embedFaces(pool, selfTestImage(), {
    detector: pipeline.detector,
    detectorConfig: pipeline.detectorConfig,
    recognizer: pipeline.recognizer,
    recognizerConfig: pipeline.recognizerConfig,
    options: { minConfidence: 0.6, maxFaces: 1 },
    flip: false,
  });
  if (result.detector !== pipeline.detector) throw new Error(result.fallbackWarning ?? `the ${pipeline.detector} detector did not run`);
  const face = result.faces[0];
  if (!face?.embedding) throw new Error('no face found in the test photo');
  const expected = modelIdForSelection(pipeline);
  const length = Math.hypot(...face.embedding);
  if (face.model !== expected || !(length > 0.1 && length < 10)) {
    throw new Error(`the recognizer gave an unusable embedding (model ${face.model}, expected ${expected}, length ${length})`);
  }
  return performance.now() - t0;
}

const describeFiles = (pipeline: Pipeline) =>
  [pipeline.detectorConfig.modelPath, pipeline.recognizerConfig.modelPath].map((p) => path.basename(String(p))).join(' + ');

/**
 * Picks the backend. `tfjs` is taken as asked. `onnx` and `auto` take the
 * fastest pipeline that passes its self-test: YuNet + MobileFaceNet (the
 * installed pack or the configured files), else face-api's own networks on
 * ONNX. When neither works, `auto` takes tfjs and `onnx` rejects; either
 * way the reason says why.
 */
export async function selectBackend(pool: WorkerPool, requested: BackendChoice, models: EngineModels = {}): Promise<EngineSelection> {
  if (requested === 'tfjs') return withReason(TFJS_SELECTION, 'tfjs as configured');
  const prefix = requested === 'auto' ? 'auto: ' : '';
  const { pipeline, missing } = userModelsPipeline(models);
  let failure: string;
  if (missing) {
    failure = `ONNX model not found: ${missing} (install with: porchlight models install ${DEFAULT_PACK})`;
  } else {
    try {
      const selfTestMs = await selfTest(pool, pipeline);
      return withReason(pipeline, `${prefix}ONNX self-test passed in ${Math.round(selfTestMs)} ms (${describeFiles(pipeline)})`, selfTestMs);
    } catch (err) {
      failure = `ONNX self-test failed: ${(err as Error).message}`;
    }
  }
  const faceApi = faceApiOnnxPipeline(models);
  try {
    const selfTestMs = await selfTest(pool, faceApi);
    return { ...withReason(faceApi, `${prefix}face-api's networks on ONNX, because ${failure}`, selfTestMs), fallback: failure };
  } catch (err) {
    failure += `; face-api's networks on ONNX failed too: ${(err as Error).message}`;
  }
  if (requested === 'onnx') throw new PorchlightError('MODEL_UNAVAILABLE', failure);
  return { ...withReason(TFJS_SELECTION, `auto: tfjs, because ${failure}`), fallback: failure };
}

import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PorchlightError } from '../errors';
import { DEFAULT_PACK, defaultModelPath, findPack, modelsDir } from '../models/packs';
import type { WorkerPool } from '../workers/pool';
import { embedFaces } from './client';
import type { Backend } from '../vision/types';
import { tfjsInstalled } from '../vision/tfjs/faceapi-runtime';
import { modelIdOf } from '../vision/onnx/recognizer';

export type BackendChoice = 'auto' | Backend;

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tfjs', 'onnx'];
/** How a detector model file is read (see EngineModels.detectorKind). */
export type DetectorKind = 'yunet' | 'ultraface' | 'faceapi';
export const DETECTOR_KINDS: readonly DetectorKind[] = ['yunet', 'ultraface', 'faceapi'];

export interface EngineModels {
  /** A YuNet / UltraFace model file; default: the YuNet bundled in the package (else the installed pack's). */
  detectorModel?: string;
  /**
   * `yunet` or `ultraface` (how to read `detectorModel`); default yunet.
   * `faceapi` picks face-api's own networks (SSD MobileNet + ResNet-128) on
   * ONNX instead, with the same embeddings as on tfjs.
   */
  detectorKind?: DetectorKind;
  /** A 112x112 5-point recognizer model file; default: the MobileFaceNet bundled in the package (else the installed pack's). */
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
  /** The detector and recognizer in force, for people: e.g. `YuNet + MobileFaceNet (onnxruntime)`. */
  label: string;
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

type Pipeline = Omit<EngineSelection, 'reason' | 'label' | 'selfTestMs' | 'tolerance' | 'fallback'>;

/** face-api's published tolerance for its ResNet descriptor. */
const FACEAPI_TOLERANCE = 0.6;
/**
 * For unit-length embeddings of the ONNX recognizers (cosine 0.34). LFW 10-fold
 * with YuNet + MobileFaceNet + flip chose 1.19 (cosine 0.30) on every fold;
 * a doorbell leans a little towards "unknown" rather than a wrong name.
 */
const UNIT_EMBEDDING_TOLERANCE = 1.15;

function withReason(pipeline: Pipeline, reason: string, selfTestMs?: number): EngineSelection {
  return {
    ...pipeline,
    reason,
    label: pipelineLabel(pipeline),
    selfTestMs,
    tolerance: pipeline.recognizer === 'onnx' ? UNIT_EMBEDDING_TOLERANCE : FACEAPI_TOLERANCE,
  };
}

const DETECTOR_NAMES: Record<string, string> = {
  yunet: 'YuNet',
  ultraface: 'UltraFace',
  'ssd-mobilenetv1': 'face-api SSD MobileNet',
  'ssd-mobilenetv1-onnx': 'face-api SSD MobileNet',
  'tiny-face-detector': 'face-api Tiny Face Detector',
};
const RECOGNIZER_NAMES: Record<string, string> = { 'faceapi-resnet128': 'ResNet-128', 'faceapi-resnet128-onnx': 'ResNet-128' };
/** Names of the default pack's files, as people know the networks. */
const PACK_NETWORKS: Record<string, string> = { detector: 'YuNet', recognizer: 'MobileFaceNet' };

/** A model file by its network's name when it is the default pack's file, else by its file name. */
function modelFileLabel(file: unknown, role: 'detector' | 'recognizer', fallback: string): string {
  if (typeof file !== 'string' || !file) return fallback;
  const packFile = findPack(DEFAULT_PACK)?.files.find((f) => f.role === role);
  return path.basename(file) === packFile?.name ? PACK_NETWORKS[role] : `${fallback} (${path.basename(file)})`;
}

/** `YuNet + MobileFaceNet (onnxruntime)`, `face-api SSD MobileNet + ResNet-128 (tfjs)`, ... */
export function pipelineLabel(pipeline: Pipeline): string {
  const detector = pipeline.recognizer === 'onnx'
    ? modelFileLabel(pipeline.detectorConfig.modelPath, 'detector', DETECTOR_NAMES[pipeline.detector] ?? pipeline.detector)
    : DETECTOR_NAMES[pipeline.detector] ?? pipeline.detector;
  const recognizer = pipeline.recognizer === 'onnx'
    ? modelFileLabel(pipeline.recognizerConfig.modelPath, 'recognizer', 'ONNX recognizer')
    : RECOGNIZER_NAMES[pipeline.recognizer] ?? pipeline.recognizer;
  return `${detector} + ${recognizer} (${pipeline.backend === 'onnx' ? 'onnxruntime' : 'tfjs'})`;
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

/** YuNet + MobileFaceNet (bundled, else the installed pack, or the user's files), with the first missing file named. */
function userModelsPipeline(models: EngineModels): { pipeline: Pipeline; missing?: string } {
  const detectorModel = models.detectorModel || defaultModelPath('detector', models.userDir);
  const recognizerModel = models.recognizerModel || defaultModelPath('recognizer', models.userDir);
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
  if (result.detector !== pipeline.detector) throw new PorchlightError('MODEL_UNAVAILABLE', result.fallbackWarning ?? `the ${pipeline.detector} detector did not run`);
  const face = result.faces[0];
  if (!face?.embedding) throw new PorchlightError('MODEL_UNAVAILABLE', 'no face found in the test photo');
  const expected = modelIdForSelection(pipeline);
  const length = Math.hypot(...face.embedding);
  if (face.model !== expected || !(length > 0.1 && length < 10)) {
    throw new PorchlightError('MODEL_UNAVAILABLE', `the recognizer gave an unusable embedding (model ${face.model}, expected ${expected}, length ${length})`);
  }
  return performance.now() - t0;
}

const describeFiles = (pipeline: Pipeline) =>
  [pipeline.detectorConfig.modelPath, pipeline.recognizerConfig.modelPath].map((p) => path.basename(String(p))).join(' + ');

/**
 * Picks the backend. `tfjs` is taken as asked. `onnx` and `auto` take the
 * fastest pipeline that passes its self-test: YuNet + MobileFaceNet (bundled
 * in the package, else the installed pack, or the configured files), else
 * face-api's own networks on ONNX. When neither works, `auto` takes tfjs and
 * `onnx` rejects; either way the reason says why. The detector kind
 * `faceapi` asks for face-api's networks on ONNX first.
 */
export async function selectBackend(pool: WorkerPool, requested: BackendChoice, models: EngineModels = {}): Promise<EngineSelection> {
  if (requested === 'tfjs') return withReason(TFJS_SELECTION, 'tfjs as configured');
  const prefix = requested === 'auto' ? 'auto: ' : '';
  const faceApiAsked = models.detectorKind === 'faceapi';
  let failure = '';
  if (!faceApiAsked) {
    const { pipeline, missing } = userModelsPipeline(models);
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
  }
  const faceApi = faceApiOnnxPipeline(models);
  try {
    const selfTestMs = await selfTest(pool, faceApi);
    if (faceApiAsked) return withReason(faceApi, `${prefix}face-api's networks on ONNX as configured; self-test passed in ${Math.round(selfTestMs)} ms`, selfTestMs);
    return { ...withReason(faceApi, `${prefix}face-api's networks on ONNX, because ${failure}`, selfTestMs), fallback: failure };
  } catch (err) {
    failure = faceApiAsked
      ? `face-api's networks on ONNX failed: ${(err as Error).message}`
      : `${failure}; face-api's networks on ONNX failed too: ${(err as Error).message}`;
  }
  if (requested === 'onnx') throw new PorchlightError('MODEL_UNAVAILABLE', failure);
  // tfjs is an optional peer dependency: without it there is nothing to fall back to, and the next call tries ONNX again.
  if (!tfjsInstalled()) throw new PorchlightError('MODEL_UNAVAILABLE', `${failure}; the tfjs backend is not installed either`);
  return { ...withReason(TFJS_SELECTION, `auto: tfjs, because ${failure}`), fallback: failure };
}

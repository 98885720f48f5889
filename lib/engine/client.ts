import { PorchlightError } from '../errors';
import { runThroughBreaker } from './model-breaker';
import { DEFAULT_MAX_PIXELS, isRawImageLike } from '../image/decode';
import type { Lane, QueuePolicy, WorkerPool } from '../workers/pool';
import { shareBytes, type DetectTask, type DetectTaskResult, type EmbedTask, type ImageInput } from '../workers/tasks';
import type { AnalyzeResult } from '../vision/embedding-types';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions, type DetectedFace } from '../vision/types';

export interface DetectRequest {
  detector?: string;
  detectorConfig?: Record<string, unknown>;
  options?: Partial<DetectOptions>;
  /** Longest side of each face's JPEG crop; 0 or absent for none. */
  cropSize?: number;
  maxPixels?: number;
  policy?: QueuePolicy;
  /** `doorbell` for a press's frames (served first); default `bulk`. */
  lane?: Lane;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Checks what a message carries and puts its bytes in shared memory for the workers. */
export function toImageInput(payload: unknown, maxPixels = DEFAULT_MAX_PIXELS): ImageInput {
  if (payload instanceof Uint8Array) {
    if (payload.length === 0) throw new PorchlightError('NOT_AN_IMAGE', 'not an image: the buffer is empty');
    return { kind: 'encoded', bytes: shareBytes(payload) };
  }
  if (isRawImageLike(payload)) {
    const { width, height, channels, data } = payload;
    if (width * height > maxPixels) {
      throw new PorchlightError('IMAGE_TOO_LARGE', `image is ${width}x${height}, over the ${Math.round(maxPixels / 1e6)} MP limit`);
    }
    return { kind: 'raw', image: { width, height, channels, data: shareBytes(data) } };
  }
  throw new PorchlightError(
    'BAD_INPUT',
    `msg.payload must be an image Buffer (JPEG, PNG, WebP) or raw pixels {data, width, height, channels}, got ${describe(payload)}`,
  );
}

/** The fields a detect task and an embed task share, with defaults filled. */
function detectTask(payload: unknown, request: DetectRequest): DetectTask {
  const maxPixels = request.maxPixels ?? DEFAULT_MAX_PIXELS;
  const image: ImageInput = toImageInput(payload, maxPixels);
  return {
    type: 'detect',
    image,
    detector: request.detector ?? 'ssd-mobilenetv1',
    detectorConfig: request.detectorConfig ?? {},
    options: { ...DEFAULT_DETECT_OPTIONS, ...request.options },
    limits: { maxPixels },
    cropSize: request.cropSize ?? 0,
  };
}

/** Detects faces in one image on the worker pool (through its model's circuit breaker: lib/engine/model-breaker.ts). */
export async function detectFaces(pool: WorkerPool, payload: unknown, request: DetectRequest = {}): Promise<DetectTaskResult> {
  return runThroughBreaker<DetectTaskResult>(pool, detectTask(payload, request), { policy: request.policy, lane: request.lane });
}

export interface EmbedRequest extends DetectRequest {
  /** Faces already found in this image (source pixels), e.g. `msg.faces` from face-detect: no second detection. */
  faces?: DetectedFace[];
  /** Average the descriptors of each face and its mirror image (default true: more accurate, one more inference). */
  flip?: boolean;
  /** Faces under this quality score (0..1) come back without an embedding (default 0: embed all). */
  minQuality?: number;
  /**
   * Detector tried when the first finds no face; `none` for none. Default:
   * `tiny-face-detector` behind face-api's SSD (it finds about two thirds of
   * the faces SSD misses on LFW), none behind the ONNX detectors (YuNet
   * missed no LFW face, and a face-less frame should not load tfjs).
   */
  secondDetector?: string;
  /** Which recognizer embeds the faces (lib/vision/recognizers.ts); default face-api's ResNet. */
  recognizer?: string;
  recognizerConfig?: Record<string, unknown>;
}

/** face-api's SSD (the default detector) on tfjs or as an ONNX graph. */
export function isFaceApiDetector(detector: string | undefined): boolean {
  return detector === undefined || detector.startsWith('ssd-mobilenetv1');
}

/**
 * Detects (unless `request.faces` are given), aligns, scores and embeds the
 * faces of one image on the worker pool; faces come back best quality first.
 */
export async function embedFaces(pool: WorkerPool, payload: unknown, request: EmbedRequest = {}): Promise<AnalyzeResult> {
  const task: EmbedTask = {
    ...detectTask(payload, request),
    type: 'embed',
    faces: request.faces?.map(({ box, score, landmarks }) => ({ box, score, landmarks })),
    flip: request.flip ?? true,
    minQuality: request.minQuality ?? 0,
    secondDetector: request.secondDetector === 'none' ? undefined : request.secondDetector ?? (isFaceApiDetector(request.detector) ? 'tiny-face-detector' : undefined),
    recognizer: request.recognizer,
    recognizerConfig: request.recognizerConfig,
  };
  return runThroughBreaker<AnalyzeResult>(pool, task, { policy: request.policy, lane: request.lane });
}

import { PorchlightError } from '../errors';
import { DEFAULT_MAX_PIXELS, isRawImageLike } from '../image/decode';
import type { QueuePolicy, WorkerPool } from '../workers/pool';
import { shareBytes, type DetectTask, type DetectTaskResult, type ImageInput } from '../workers/tasks';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions } from './types';

export interface DetectRequest {
  detector?: string;
  detectorConfig?: Record<string, unknown>;
  options?: Partial<DetectOptions>;
  /** Longest side of each face's JPEG crop; 0 or absent for none. */
  cropSize?: number;
  maxPixels?: number;
  policy?: QueuePolicy;
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

/** Detects faces in one image on the worker pool. */
export function detectFaces(pool: WorkerPool, payload: unknown, request: DetectRequest = {}): Promise<DetectTaskResult> {
  const maxPixels = request.maxPixels ?? DEFAULT_MAX_PIXELS;
  let image: ImageInput;
  try {
    image = toImageInput(payload, maxPixels);
  } catch (err) {
    return Promise.reject(err);
  }
  const task: DetectTask = {
    type: 'detect',
    image,
    detector: request.detector ?? 'ssd-mobilenetv1',
    detectorConfig: request.detectorConfig ?? {},
    options: { ...DEFAULT_DETECT_OPTIONS, ...request.options },
    limits: { maxPixels },
    cropSize: request.cropSize ?? 0,
  };
  return pool.run<DetectTaskResult>(task, { policy: request.policy });
}

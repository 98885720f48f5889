import type { RawImage } from '../image/types';
import type { DetectOptions, DetectedFace } from '../vision/types';

// The detection result is the vision pipeline's type (lib/vision/types.ts); the task protocol carries it as is.
export type { DetectedFaceWithCrop, DetectTaskResult } from '../vision/types';

/**
 * The messages between the main thread and the vision workers. Image bytes
 * travel in SharedArrayBuffers: one copy into shared memory on the main
 * thread, none per worker, and still there if the task must be retried.
 */
export type ImageInput =
  | { kind: 'encoded'; bytes: Uint8Array }
  | { kind: 'raw'; image: RawImage };

export interface DecodeLimits {
  maxPixels: number;
}

export interface DetectTask {
  type: 'detect';
  image: ImageInput;
  detector: string;
  detectorConfig: Record<string, unknown>;
  options: DetectOptions;
  limits: DecodeLimits;
  /** Longest side of the JPEG crop of each face; 0 for no crops. */
  cropSize: number;
}

/**
 * Detect (unless `faces` are given), align, score and embed: the recognition
 * half of the pipeline. Faces come back best quality first.
 */
export interface EmbedTask extends Omit<DetectTask, 'type'> {
  type: 'embed';
  /** Faces already found in this image (source pixels, e.g. by face-detect): no second detection. */
  faces?: DetectedFace[];
  /** Also embed the mirror image and average the two descriptors. */
  flip: boolean;
  /** Faces under this quality score (0..1) get no embedding. */
  minQuality: number;
  /** A detector tried when `detector` finds no face; none when absent. */
  secondDetector?: string;
  /** `faceapi-resnet128` (default) or `onnx` with `recognizerConfig.modelPath`; see lib/vision/recognizers.ts. */
  recognizer?: string;
  recognizerConfig?: Record<string, unknown>;
}

/** A task that only tells which thread ran it and the memory that thread holds (pool tests, warm-up, soak). */
export interface PingTask {
  type: 'ping';
  delayMs?: number;
  /** Make the worker's thread exit while busy (tests of crash recovery). */
  crash?: boolean;
  /** Run a full garbage collection before measuring, where --expose-gc makes `gc` available. */
  collectGarbage?: boolean;
}

/** Sent to each idle thread as the pool closes: release the thread's onnxruntime sessions before it is terminated. */
export interface ReleaseTask {
  type: 'release';
}

/** One worker thread's memory, in bytes: its V8 heap and what its JavaScript holds outside it (WebAssembly memory included). */
export interface ThreadMemory {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface PingReply {
  threadId: number;
  memory: ThreadMemory;
}

export type WorkerTask = DetectTask | EmbedTask | PingTask | ReleaseTask;

/** Puts bytes in shared memory so that worker threads read them without a copy. */
export function shareBytes(bytes: Uint8Array): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  return shared;
}

import type { RawImage } from '../../image/types';
import type { DetectOptions, DetectedFace, Detector, DetectorConfig, DetectorFactory } from '../types';
import { ensureNet, type FaceApi, type FaceApiNet } from './faceapi-runtime';
import { PorchlightError } from '../../errors';

type FaceApiOptions = InstanceType<FaceApi['SsdMobilenetv1Options']> | InstanceType<FaceApi['TinyFaceDetectorOptions']>;
type Tensor3D = ReturnType<FaceApi['tf']['tensor3d']>;

/**
 * Black borders tried in turn when a pass finds nothing, as a fraction of the
 * image on each side. Measured with SSD: 400 LFW photos miss 40 faces in one
 * pass; 2x the size finds all 40, 3x only 30. Tighter close-ups (a face
 * running off the frame) are the other way round: 15 and 25 of 32. Trying
 * both finds every LFW one and 25 of 32 tight ones.
 */
export const CLOSE_UP_PADDINGS = [0.5, 1];

/** Longest side of a padded search image: the networks see 416-512 pixels, so a larger copy only costs memory. */
export const PADDED_MAX_SIDE = 1024;

/**
 * Shared body of face-api's two detectors. A close-up, where the face fills
 * the frame, is often missed by SSD (about one LFW image in ten); when a pass
 * finds nothing, the image is searched again inside a black border (see
 * CLOSE_UP_PADDINGS), at the cost of extra passes only on frames where the
 * plain pass found no face.
 */
abstract class FaceApiDetector implements Detector {
  abstract readonly name: string;
  readonly backend = 'tfjs' as const;
  abstract readonly preferredMaxSide: number;
  protected abstract readonly net: FaceApiNet;
  protected abstract options(minConfidence: number, maxFaces: number): FaceApiOptions;

  constructor(protected readonly config: DetectorConfig) {}

  async load(): Promise<void> {
    await ensureNet(this.net);
    await ensureNet('faceLandmark68Net');
  }

  async detect(image: RawImage, options: DetectOptions): Promise<DetectedFace[]> {
    const { faceapi } = await ensureNet(this.net);
    if (options.landmarks) await ensureNet('faceLandmark68Net');
    const tf = faceapi.tf;
    const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32') as Tensor3D;
    try {
      let faces = await this.pass(faceapi, input, options, 0, 0);
      if (this.config.closeUpRetry !== false) {
        for (const padding of CLOSE_UP_PADDINGS) {
          if (faces.length > 0) break;
          faces = await this.searchPadded(faceapi, input, options, padding);
        }
      }
      return faces.sort((a, b) => b.score - a.score).slice(0, options.maxFaces);
    } finally {
      input.dispose();
    }
  }

  /** Searches the image (shrunk to fit PADDED_MAX_SIDE) inside a black border; faces come back in the image's pixels. */
  private async searchPadded(faceapi: FaceApi, input: Tensor3D, options: DetectOptions, padding: number): Promise<DetectedFace[]> {
    const tf = faceapi.tf;
    const [height, width] = input.shape;
    const shrink = Math.min(1, PADDED_MAX_SIDE / ((1 + 2 * padding) * Math.max(width, height)));
    const smallWidth = Math.max(1, Math.round(width * shrink));
    const smallHeight = Math.max(1, Math.round(height * shrink));
    const padX = Math.round(smallWidth * padding);
    const padY = Math.round(smallHeight * padding);
    const padded = tf.tidy(() => {
      const small = shrink < 1 ? tf.image.resizeBilinear(input, [smallHeight, smallWidth]) : input;
      return tf.pad(small, [[padY, padY], [padX, padX], [0, 0]], 0);
    }) as Tensor3D;
    let faces: DetectedFace[];
    try {
      faces = await this.pass(faceapi, padded, options, padX, padY, smallWidth, smallHeight);
    } finally {
      padded.dispose();
    }
    const sx = width / smallWidth;
    const sy = height / smallHeight;
    return faces.map(({ box, score, landmarks }) => ({
      box: { x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy },
      score,
      landmarks: landmarks?.map((p) => ({ x: p.x * sx, y: p.y * sy })),
    }));
  }

  /** One detection pass; coordinates are shifted back by the padding and clipped to the image. */
  private async pass(
    faceapi: FaceApi,
    input: Tensor3D,
    options: DetectOptions,
    offsetX: number,
    offsetY: number,
    width = input.shape[1],
    height = input.shape[0],
  ): Promise<DetectedFace[]> {
    const opts = this.options(options.minConfidence, Math.max(options.maxFaces, 1) * 2);
    const task = faceapi.detectAllFaces(input as never, opts);
    const found: Array<{ detection: { box: { x: number; y: number; width: number; height: number }; score: number }; landmarks?: { positions: Array<{ x: number; y: number }> } }> =
      options.landmarks ? await task.withFaceLandmarks() : (await task).map((detection) => ({ detection }));
    const faces: DetectedFace[] = [];
    for (const f of found) {
      const b = f.detection.box;
      const x0 = Math.max(0, b.x - offsetX);
      const y0 = Math.max(0, b.y - offsetY);
      const x1 = Math.min(width, b.x + b.width - offsetX);
      const y1 = Math.min(height, b.y + b.height - offsetY);
      if (x1 - x0 < 2 || y1 - y0 < 2) continue;
      faces.push({
        box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
        score: f.detection.score,
        landmarks: f.landmarks?.positions.map((p) => ({ x: p.x - offsetX, y: p.y - offsetY })),
      });
    }
    return faces;
  }

  dispose(): void {
    // Networks stay loaded for the worker's lifetime; they are shared by every detector instance.
  }
}

class SsdMobilenetV1Detector extends FaceApiDetector {
  readonly name = 'ssd-mobilenetv1';
  readonly preferredMaxSide = 1280;
  protected readonly net = 'ssdMobilenetv1' as const;
  protected options(minConfidence: number, maxResults: number): FaceApiOptions {
    return new (requireFaceApi().SsdMobilenetv1Options)({ minConfidence, maxResults });
  }
}

class TinyFaceDetector extends FaceApiDetector {
  readonly name = 'tiny-face-detector';
  readonly preferredMaxSide = 1280;
  protected readonly net = 'tinyFaceDetector' as const;
  protected options(scoreThreshold: number): FaceApiOptions {
    const inputSize = Number(this.config.inputSize ?? 416);
    return new (requireFaceApi().TinyFaceDetectorOptions)({ inputSize, scoreThreshold });
  }
}

/** face-api's option classes; the module is already loaded by `ensureNet` when these are built. */
function requireFaceApi(): FaceApi {
  return require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
}

const TINY_INPUT_SIZES = [128, 160, 224, 320, 416, 512, 608];

export const ssdMobilenetV1Factory: DetectorFactory = {
  name: 'ssd-mobilenetv1',
  backend: 'tfjs',
  description: "face-api's SSD MobileNetV1 (accurate, about 300 ms per frame on one core)",
  validateConfig: (config) => ({ closeUpRetry: config.closeUpRetry !== false }),
  create: (config) => new SsdMobilenetV1Detector(config),
};

export const tinyFaceDetectorFactory: DetectorFactory = {
  name: 'tiny-face-detector',
  backend: 'tfjs',
  description: "face-api's Tiny Face Detector (fast, misses small and turned faces)",
  validateConfig: (config) => {
    const inputSize = Number(config.inputSize ?? 416);
    if (!TINY_INPUT_SIZES.includes(inputSize)) {
      throw new PorchlightError('BAD_CONFIG', `tiny-face-detector inputSize must be one of ${TINY_INPUT_SIZES.join(', ')}, got ${config.inputSize}`);
    }
    return { inputSize, closeUpRetry: config.closeUpRetry !== false };
  },
  create: (config) => new TinyFaceDetector(config),
};

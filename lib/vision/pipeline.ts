import { performance } from 'node:perf_hooks';
import { cropJpeg } from '../image/decode';
import type { Point, RawImage } from '../image/types';
import { alignFace, mirror } from './align';
import { averageDescriptors, type Embedder } from './embedder';
import type { EmbeddedFace } from './embedding-types';
import { faceQuality } from './quality';
import { locateLandmarks68 } from './tfjs/faceapi-landmarks';
import type { DetectOptions, DetectedFace, Detector } from './types';

/**
 * The face pipeline of one image: detect (unless the faces are given), align,
 * score, embed. It runs wherever its models are loaded (a worker thread of the
 * pool, or a test); the worker's embed handler decodes the task's image, loads
 * the models once per thread and calls it.
 */

/** The loaded models one pass uses. */
export interface PipelineModels {
  embedder: Embedder;
  /** Finds the faces when none are given. */
  detector?: Detector;
  /** Asked only when `detector` finds no face: a second opinion on empty frames (detectors miss different faces). */
  secondDetector?: () => Promise<Detector | undefined>;
}

export interface PipelineOptions {
  /** Detection options; `minFaceSize` is in source pixels. */
  detect: DetectOptions;
  /** Decoded pixels per source pixel (the image was shrunk for its detector). */
  scale: number;
  /** Faces already found (source pixels), e.g. by face-detect: no detection. */
  faces?: readonly DetectedFace[];
  /** Average the descriptors of each face and its mirror image. */
  flip: boolean;
  /** Faces under this quality score get no embedding. */
  minQuality: number;
  /** Longest side of each face's JPEG crop; 0 for none. */
  cropSize: number;
}

export interface PipelineResult {
  /** Best quality first, in source pixels. */
  faces: EmbeddedFace[];
  /** The detector whose faces these are (`given` for faces passed in). */
  detector: string;
  timings: { detectMs: number; embedMs: number; cropMs: number };
}

function scalePoints(points: readonly Point[] | undefined, k: number): Point[] | undefined {
  return points?.map((p) => ({ x: p.x * k, y: p.y * k }));
}

/** A face's box and landmarks times `k` (source <-> decoded pixels). */
export function scaleFace(face: DetectedFace, k: number): DetectedFace {
  const { box } = face;
  return {
    box: { x: box.x * k, y: box.y * k, width: box.width * k, height: box.height * k },
    score: face.score,
    landmarks: scalePoints(face.landmarks, k),
  };
}

interface AlignedFace {
  face: DetectedFace;
  chip: RawImage;
  quality: EmbeddedFace['quality'];
}

/** Finds the faces of `image` (decoded pixels), or takes the given ones; those under minFaceSize are dropped. */
async function findFaces(image: RawImage, models: PipelineModels, options: PipelineOptions): Promise<{ faces: DetectedFace[]; detector: string }> {
  const { detect, scale } = options;
  const bigEnough = (found: DetectedFace[]) => found.filter((face) => Math.min(face.box.width, face.box.height) >= detect.minFaceSize * scale).slice(0, detect.maxFaces);
  if (options.faces) return { faces: bigEnough(options.faces.map((face) => scaleFace(face, scale))), detector: 'given' };
  if (!models.detector) return { faces: [], detector: 'none' };
  // An embedder with its own landmark net (face-api's on ONNX) spares the detector's tfjs one.
  const detectOptions = { ...detect, landmarks: !models.embedder.landmarks68 };
  const faces = bigEnough(await models.detector.detect(image, detectOptions));
  if (faces.length > 0 || !models.secondDetector) return { faces, detector: models.detector.name };
  const second = await models.secondDetector();
  if (!second || second.name === models.detector.name) return { faces, detector: models.detector.name };
  const secondFaces = bigEnough(await second.detect(image, detectOptions));
  return secondFaces.length > 0 ? { faces: secondFaces, detector: second.name } : { faces, detector: models.detector.name };
}

/** Landmarks, chip and quality of each face, best quality first; boxes back in source pixels. */
async function alignFaces(image: RawImage, faces: DetectedFace[], model: Embedder, scale: number): Promise<AlignedFace[]> {
  const aligned: AlignedFace[] = [];
  for (const face of faces) {
    // A 5-point model aligns on the detector's five points; everything else needs 68.
    const usable = face.landmarks?.length === 68 || (model.align && face.landmarks?.length === 5);
    const landmarks = usable ? face.landmarks! : await (model.landmarks68?.(image, face.box) ?? locateLandmarks68(image, face.box));
    const chip = model.align ? model.align(image, landmarks) : alignFace(image, landmarks);
    const sourceFace = scaleFace({ ...face, landmarks }, 1 / scale);
    aligned.push({ face: sourceFace, chip, quality: faceQuality({ box: sourceFace.box, score: face.score, landmarks, chip }) });
  }
  return aligned.sort((a, b) => b.quality.score - a.quality.score);
}

/** Descriptors of the faces at or above `minQuality` (each averaged with its mirror image's when `flip`). */
async function embedAligned(aligned: AlignedFace[], model: Embedder, options: PipelineOptions): Promise<Map<AlignedFace, Float32Array>> {
  const worth = aligned.filter((a) => a.quality.score >= options.minQuality);
  const chips = worth.flatMap((a) => (options.flip ? [a.chip, mirror(a.chip)] : [a.chip]));
  const descriptors = chips.length > 0 ? await model.embed(chips) : [];
  return new Map(worth.map((a, i) => [a, options.flip ? averageDescriptors(descriptors[2 * i], descriptors[2 * i + 1]) : descriptors[i]]));
}

/** Detects (unless faces are given), aligns, scores and embeds the faces of one decoded image. */
export async function analyzeFaces(image: RawImage, models: PipelineModels, options: PipelineOptions): Promise<PipelineResult> {
  const t0 = performance.now();
  const found = await findFaces(image, models, options);
  const t1 = performance.now();
  const aligned = await alignFaces(image, found.faces, models.embedder, options.scale);
  const embeddings = await embedAligned(aligned, models.embedder, options);
  const t2 = performance.now();
  const faces: EmbeddedFace[] = [];
  for (const a of aligned) {
    const embedding = embeddings.get(a);
    const crop = options.cropSize > 0 ? await cropJpeg(image, scaleFace(a.face, options.scale).box, { size: options.cropSize }) : undefined;
    faces.push({
      ...a.face,
      quality: a.quality,
      ...(embedding ? { embedding, model: models.embedder.model } : {}),
      ...(crop ? { crop: new Uint8Array(crop.buffer, crop.byteOffset, crop.length) } : {}),
    });
  }
  const t3 = performance.now();
  return { faces, detector: found.detector, timings: { detectMs: t1 - t0, embedMs: t2 - t1, cropMs: t3 - t2 } };
}

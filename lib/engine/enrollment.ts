import { PorchlightError } from '../errors';
import { FACE_CROP_SIZE, iou } from '../image/box';
import type { Box } from '../image/types';
import { embedFaces, type EmbedRequest } from './client';
import type { EmbeddedFace } from '../vision/embedding-types';
import type { EngineSelection } from './select';
import { MIN_ENROLL_QUALITY } from '../vision/quality';
import type { WorkerPool } from '../workers/pool';
import { normalizeName, normalizeNotes } from '../store/names';
import type { EnrollResult, Store, NewFace, PersonList } from '../store/types';

export interface EnrollImage {
  /** An encoded image (JPEG, PNG, WebP). */
  image: Uint8Array;
  /** Where it came from, kept with the face: a file name, `msg`, `http`, `event:<id>`. */
  source: string;
}

export interface EnrollImagesOptions {
  list?: PersonList;
  notes?: string;
  /** Picks one face (image pixels) when an image holds several. */
  box?: Box;
  /** Faces under this quality score (0..1) are refused. */
  minQuality?: number;
  /** Detector, recognizer and limits for the embedding. */
  embed?: EmbedRequest;
}

export interface Refusal {
  source: string;
  reason: string;
  /** When the image holds several faces and none was picked: where each is (image pixels), to pick one by its box. */
  faces?: Box[];
  /** True when the image itself could not be read (not an image, corrupt, too large). */
  unreadable?: boolean;
}

export interface EnrollImagesResult extends EnrollResult {
  /** Images that gave no face, with why; the others were enrolled. */
  refused: Refusal[];
}

/** The pipeline the engine chose (what face-recognize embeds with), as an embedding request: enrollments must use the same model. */
export function embedRequestFor(
  selection: Pick<EngineSelection, 'detector' | 'detectorConfig' | 'recognizer' | 'recognizerConfig'>,
  maxPixels?: number,
): EmbedRequest {
  const { detector, detectorConfig, recognizer, recognizerConfig } = selection;
  return { detector, detectorConfig, recognizer, recognizerConfig, maxPixels };
}

/** Every image was refused: nothing was stored. A BAD_INPUT that keeps the reasons per image. */
export class NothingEnrolledError extends PorchlightError {
  constructor(
    name: string,
    readonly refused: Refusal[],
  ) {
    super('BAD_INPUT', `nothing enrolled for ${name}: ${refused.map((r) => `${r.source}: ${r.reason}`).join('; ')}`);
  }
}

/** Error codes that mean "this image", not "the engine": such an image is refused and the others go on. */
const UNREADABLE_IMAGE_CODES = new Set(['NOT_AN_IMAGE', 'UNSUPPORTED_FORMAT', 'CORRUPT_IMAGE', 'IMAGE_TOO_LARGE', 'IMAGE_TOO_SMALL', 'BAD_INPUT']);

/** A picked face must overlap the given box at least this much (intersection over union). */
const MIN_BOX_OVERLAP = 0.3;

function describeQuality(face: EmbeddedFace): string {
  const q = face.quality;
  return `quality ${q.score.toFixed(2)} (size ${Math.round(q.size)} px, sharpness ${q.sharpness.toFixed(2)}, frontal ${q.frontal.toFixed(2)}, detector ${q.detector.toFixed(2)})`;
}

/** The one face of an image to enroll, or why there is none. */
export function pickFace(faces: readonly EmbeddedFace[], box: Box | undefined, minQuality: number): EmbeddedFace | string {
  let face: EmbeddedFace | undefined;
  if (box) {
    const best = [...faces].sort((a, b) => iou(b.box, box) - iou(a.box, box))[0];
    if (!best || iou(best.box, box) < MIN_BOX_OVERLAP) return 'no face inside msg.box';
    face = best;
  } else if (faces.length === 0) {
    return 'no face found';
  } else if (faces.length > 1) {
    return `${faces.length} faces found; give msg.box {x, y, width, height} to pick one`;
  } else {
    face = faces[0];
  }
  if (face.quality.score < minQuality) return `face too poor to enroll: ${describeQuality(face)}, under ${minQuality}`;
  if (!face.embedding || !face.model) return 'the face could not be embedded';
  return face;
}

/**
 * Enrollment from images: each image must give exactly one face (or the one
 * `box` picks) of enough quality; those faces are stored together for `name`.
 * Images that give none are reported in `refused`; when every image is
 * refused nothing is stored and the reasons come back as a BAD_INPUT error.
 */
export async function enrollImages(
  store: Store,
  pool: WorkerPool,
  name: string,
  images: readonly EnrollImage[],
  options: EnrollImagesOptions = {},
): Promise<EnrollImagesResult> {
  const cleanName = normalizeName(name); // before spending seconds on embeddings
  normalizeNotes(options.notes);
  if (images.length === 0) throw new PorchlightError('BAD_INPUT', 'enroll needs at least one image');
  const minQuality = options.minQuality ?? MIN_ENROLL_QUALITY;
  // All images at once: the pool's 'wait' policy queues them and its threads share the work.
  const embedded = await Promise.all(
    images.map(({ image }) =>
      embedFaces(pool, image, { policy: 'wait', cropSize: FACE_CROP_SIZE, ...options.embed }).catch((err: unknown) => {
        // A bad image is refused like a faceless one; a broken engine is everyone's problem.
        if (err instanceof PorchlightError && UNREADABLE_IMAGE_CODES.has(err.code)) return err;
        throw err;
      }),
    ),
  );
  const faces: NewFace[] = [];
  const refused: Refusal[] = [];
  embedded.forEach((result, i) => {
    const { source } = images[i];
    if (result instanceof PorchlightError) {
      refused.push({ source, reason: result.message, unreadable: true });
      return;
    }
    const picked = pickFace(result.faces, options.box, minQuality);
    if (typeof picked === 'string') {
      refused.push(!options.box && result.faces.length > 1 ? { source, reason: picked, faces: result.faces.map((f) => f.box) } : { source, reason: picked });
      return;
    }
    faces.push({
      model: picked.model!,
      embedding: picked.embedding!,
      quality: picked.quality.score,
      crop: picked.crop ?? null,
      source,
      metadata: { box: picked.box, detector: result.detector, image: { width: result.width, height: result.height }, quality: picked.quality },
    });
  });
  if (faces.length === 0) {
    throw new NothingEnrolledError(cleanName, refused);
  }
  const enrolled = await store.enroll(cleanName, faces, { list: options.list, notes: options.notes });
  return { ...enrolled, refused };
}

/** A face found in a photo before it is enrolled: where it is, and whether it is good enough to enrol. */
export interface PhotoFace {
  /** Image pixels (after EXIF orientation), as `box` of an enrolment takes them. */
  box: Box;
  quality: number;
  /** Null when the face can be enrolled; otherwise why not (too small, blurred, turned away). */
  refusal: string | null;
}

export interface PhotoFaces {
  width: number;
  height: number;
  /** Left to right, so that "the second face" means the same to everyone. */
  faces: PhotoFace[];
}

/**
 * The faces of one photo, found and judged as an enrolment would (same
 * pipeline, same quality bar), so that a person can point at the one to enrol
 * in a group photo: its box is then given to `enrollImages`.
 */
export async function facesInPhoto(pool: WorkerPool, image: Uint8Array, options: Pick<EnrollImagesOptions, 'embed' | 'minQuality'> = {}): Promise<PhotoFaces> {
  const minQuality = options.minQuality ?? MIN_ENROLL_QUALITY;
  const result = await embedFaces(pool, image, { policy: 'wait', ...options.embed });
  const faces = result.faces.map((face): PhotoFace => {
    const picked = pickFace([face], undefined, minQuality);
    return { box: face.box, quality: face.quality.score, refusal: typeof picked === 'string' ? picked : null };
  });
  faces.sort((a, b) => a.box.x - b.box.x);
  return { width: result.width, height: result.height, faces };
}

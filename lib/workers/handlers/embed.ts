import { performance } from 'node:perf_hooks';
import { cropJpeg } from '../../image/decode';
import type { Point, RawImage } from '../../image/types';
import { alignFace, mirror } from '../../vision/align';
import type { Embedder } from '../../vision/embedder';
import { averageDescriptors } from '../../vision/embedder';
import type { AnalyzeResult, EmbeddedFace } from '../../vision/embedding-types';
import { faceQuality } from '../../vision/quality';
import { createEmbedder } from '../../vision/recognizers';
import { locateLandmarks68 } from '../../vision/tfjs/faceapi-landmarks';
import type { DetectedFace } from '../../vision/types';
import type { EmbedTask } from '../tasks';
import { decodeInput, loadDetector } from './detect';

/** Longest image side decoded when the faces are given and no detector says otherwise. */
const GIVEN_FACES_MAX_SIDE = 1280;

const embedders = new Map<string, Promise<Embedder>>();

/** The thread's embedders by recognizer and config, each loaded once. */
function loadEmbedder(name: string | undefined, config: Record<string, unknown> = {}): Promise<Embedder> {
  const key = `${name}:${JSON.stringify(config)}`;
  let loading = embedders.get(key);
  if (!loading) {
    loading = createEmbedder(name, config);
    loading.catch(() => embedders.delete(key));
    embedders.set(key, loading);
  }
  return loading;
}

function scalePoints(points: readonly Point[] | undefined, k: number): Point[] | undefined {
  return points?.map((p) => ({ x: p.x * k, y: p.y * k }));
}

function scaleFace(face: DetectedFace, k: number): DetectedFace {
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

export async function runEmbed(task: EmbedTask): Promise<AnalyzeResult> {
  const t0 = performance.now();
  const loadingEmbedder = loadEmbedder(task.recognizer, task.recognizerConfig);
  const given = task.faces;
  const created = given ? undefined : await loadDetector(task.detector, task.detectorConfig);
  const maxSide = created?.detector.preferredMaxSide ?? GIVEN_FACES_MAX_SIDE;
  const { image, scale, width, height } = await decodeInput(task.image, maxSide, task.limits);
  const t1 = performance.now();

  const model = await loadingEmbedder;
  // An embedder with its own landmark net (face-api's on ONNX) spares the detector's tfjs one.
  const detectorLandmarks = !model.landmarks68;

  // Faces in decoded pixels; those smaller than minFaceSize (source pixels) are dropped.
  const bigEnough = (found: DetectedFace[]) =>
    found.filter((face) => Math.min(face.box.width, face.box.height) >= task.options.minFaceSize * scale).slice(0, task.options.maxFaces);
  let faces: DetectedFace[];
  let detectorName = created?.detector.name ?? 'given';
  if (given) {
    faces = bigEnough(given.map((face) => scaleFace(face, scale)));
  } else {
    faces = bigEnough(await created!.detector.detect(image, { ...task.options, landmarks: detectorLandmarks }));
    if (faces.length === 0 && task.secondDetector && task.secondDetector !== created!.detector.name) {
      // A second opinion only on empty frames: detectors miss different faces (dim, blurred, close-up).
      const second = await loadDetector(task.secondDetector, {});
      faces = bigEnough(await second.detector.detect(image, { ...task.options, landmarks: detectorLandmarks }));
      if (faces.length > 0) detectorName = second.detector.name;
    }
  }
  const t2 = performance.now();

  const aligned: AlignedFace[] = [];
  for (const face of faces) {
    // A 5-point model aligns on the detector's five points; everything else needs 68.
    const usable = face.landmarks?.length === 68 || (model.align && face.landmarks?.length === 5);
    const landmarks = usable ? face.landmarks! : await (model.landmarks68?.(image, face.box) ?? locateLandmarks68(image, face.box));
    const withLandmarks = { ...face, landmarks };
    const chip = model.align ? model.align(image, landmarks) : alignFace(image, landmarks);
    const sourceFace = scaleFace(withLandmarks, 1 / scale);
    aligned.push({ face: sourceFace, chip, quality: faceQuality({ box: sourceFace.box, score: face.score, landmarks, chip }) });
  }
  aligned.sort((a, b) => b.quality.score - a.quality.score);

  const worth = aligned.filter((a) => a.quality.score >= task.minQuality);
  const chips = worth.flatMap((a) => (task.flip ? [a.chip, mirror(a.chip)] : [a.chip]));
  const descriptors = await model.embed(chips);
  const embeddings = new Map<AlignedFace, Float32Array>();
  worth.forEach((a, i) => {
    embeddings.set(a, task.flip ? averageDescriptors(descriptors[2 * i], descriptors[2 * i + 1]) : descriptors[i]);
  });
  const t3 = performance.now();

  const result: EmbeddedFace[] = [];
  for (const a of aligned) {
    const embedding = embeddings.get(a);
    const crop = task.cropSize > 0 ? await cropJpeg(image, scaleFace(a.face, scale).box, { size: task.cropSize }) : undefined;
    result.push({
      ...a.face,
      quality: a.quality,
      ...(embedding ? { embedding, model: model.model } : {}),
      ...(crop ? { crop: new Uint8Array(crop.buffer, crop.byteOffset, crop.length) } : {}),
    });
  }
  const t4 = performance.now();
  return {
    faces: result,
    width,
    height,
    detector: detectorName,
    fallbackWarning: created?.warning,
    timings: { decodeMs: t1 - t0, detectMs: t2 - t1, embedMs: t3 - t2, totalMs: t4 - t0 },
  };
}

import { performance } from 'node:perf_hooks';
import { cropJpeg, decodeImage, rawToRgb } from '../../image/decode';
import type { RawImage } from '../../image/types';
import { createDefaultRegistry } from '../../vision/detectors';
import type { CreatedDetector } from '../../vision/registry';
import type { DecodeLimits, DetectTask, DetectTaskResult, DetectedFaceWithCrop, ImageInput } from '../tasks';

const registry = createDefaultRegistry();
/** Loaded detectors of this thread, by name and config: models load once per worker. */
const detectors = new Map<string, Promise<CreatedDetector>>();

export function loadDetector(name: string, config: Record<string, unknown>): Promise<CreatedDetector> {
  const key = `${name}:${JSON.stringify(config)}`;
  let created = detectors.get(key);
  if (!created) {
    created = registry.create(name, config);
    created.catch(() => detectors.delete(key));
    detectors.set(key, created);
  }
  return created;
}

/** RGB pixels of a task's image, shrunk to `maxSide`; decoded = source * scale. */
export async function decodeInput(
  input: ImageInput,
  maxSide: number,
  limits: DecodeLimits,
): Promise<{ image: RawImage; scale: number; width: number; height: number }> {
  if (input.kind === 'encoded') {
    const decoded = await decodeImage(input.bytes, { maxSide, maxPixels: limits.maxPixels });
    return { image: decoded.image, scale: decoded.scale, width: decoded.sourceWidth, height: decoded.sourceHeight };
  }
  const image = rawToRgb(input.image, limits.maxPixels);
  return { image, scale: 1, width: image.width, height: image.height };
}

export async function runDetect(task: DetectTask): Promise<DetectTaskResult> {
  const t0 = performance.now();
  const { detector, warning } = await loadDetector(task.detector, task.detectorConfig);
  const { image, scale, width, height } = await decodeInput(task.image, detector.preferredMaxSide, task.limits);
  const t1 = performance.now();
  const minFaceSize = task.options.minFaceSize * scale;
  const found = (await detector.detect(image, task.options)).filter(
    (face) => Math.min(face.box.width, face.box.height) >= minFaceSize,
  );
  const t2 = performance.now();
  const faces: DetectedFaceWithCrop[] = [];
  for (const face of found) {
    const crop = task.cropSize > 0 ? await cropJpeg(image, face.box, { size: task.cropSize }) : undefined;
    faces.push({
      box: { x: face.box.x / scale, y: face.box.y / scale, width: face.box.width / scale, height: face.box.height / scale },
      score: face.score,
      landmarks: face.landmarks?.map((p) => ({ x: p.x / scale, y: p.y / scale })),
      crop: crop ? new Uint8Array(crop.buffer, crop.byteOffset, crop.length) : undefined,
    });
  }
  const t3 = performance.now();
  return {
    faces,
    width,
    height,
    detector: detector.name,
    fallbackWarning: warning,
    timings: { decodeMs: t1 - t0, detectMs: t2 - t1, totalMs: t3 - t0 },
  };
}

import type { StatusWords } from '../events/status-words';
import type { RawImage } from '../image/types';
import type { DetectTaskResult } from '../vision/types';

/** A detector chosen for a face-detect node: the engine's selection, or a named face-api detector. */
export interface DetectorChoice {
  detector: string;
  detectorConfig: Record<string, unknown>;
  /** For people: e.g. "YuNet + MobileFaceNet (onnxruntime)". */
  label?: string;
  /** Why the engine fell back to this pipeline (a model file missing or broken). */
  fallback?: string;
}

/** A small black image: detecting in it loads the detector's models in a worker (the warm-up before the first press). */
export function warmUpImage(): RawImage {
  return { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 };
}

/** "face-api SSD MobileNet + ResNet-128 (onnxruntime)" as "face-api SSD MobileNet" when `room` is short. */
export function shortDetectorLabel(label: string, room: number): string {
  const plain = label.replace(/\s*\([^)]*\)$/, '');
  return plain.length <= room ? plain : plain.split(' + ')[0];
}

/** A detector that stood in for another: "fallback: face-api SSD" under the node, the reason in `detail`. */
function fallbackWords(label: string, why: string): StatusWords {
  return { tone: 'warn', text: `fallback: ${shortDetectorLabel(label, 22)}`, detail: `face-detect fallback: ${why}` };
}

/** The status after the warm-up: ready with the pipeline's label, or the fallback in force (the engine's or the worker's). */
export function warmUpWords(result: DetectTaskResult, choice: DetectorChoice): StatusWords {
  const label = choice.label ?? result.detector;
  const warning = result.fallbackWarning ?? (choice.fallback && `${label}, because ${choice.fallback}`);
  if (warning) return fallbackWords(label, warning);
  return { tone: 'ready', text: `ready (${shortDetectorLabel(label, 24)})`, detail: choice.label ? `face-detect ready: ${choice.label}` : undefined };
}

/** The status after a frame: "2 faces · 140 ms · queue 3", or the fallback in force. */
export function detectedWords(result: DetectTaskResult, latencyMs: number, queued: number): StatusWords {
  if (result.fallbackWarning) return fallbackWords(result.detector, result.fallbackWarning);
  const count = result.faces.length;
  return { tone: 'ready', text: `${count} ${count === 1 ? 'face' : 'faces'} · ${Math.round(latencyMs)} ms${queued ? ` · queue ${queued}` : ''}` };
}

/** A face as face-detect sends it in `msg.faces`: its crop (when asked for) a JPEG Buffer. */
export interface FaceOut {
  box: DetectTaskResult['faces'][number]['box'];
  score: number;
  landmarks: DetectTaskResult['faces'][number]['landmarks'];
  crop?: Buffer;
}

/** `msg.detection`: which detector ran, on what size, how long, and how much of that was waiting. */
export interface DetectionOut {
  detector: string;
  width: number;
  height: number;
  timings: DetectTaskResult['timings'];
  latencyMs: number;
  waitMs: number;
}

/** What face-detect adds to the message: `msg.faces` and `msg.detection`. */
export function detectionMessage(result: DetectTaskResult, latencyMs: number): { faces: FaceOut[]; detection: DetectionOut } {
  const faces = result.faces.map((face) => ({
    box: face.box,
    score: face.score,
    landmarks: face.landmarks,
    ...(face.crop ? { crop: Buffer.from(face.crop.buffer, face.crop.byteOffset, face.crop.length) } : {}),
  }));
  const { detector, width, height, timings } = result;
  // The rest of the latency, outside the worker's own run: the queue, and the hand-over to the thread and back.
  return { faces, detection: { detector, width, height, timings, latencyMs, waitMs: Math.max(0, latencyMs - timings.totalMs) } };
}

import { PorchlightError } from '../../errors';
import type { RawImage } from '../../image/types';
import { defaultModelPath } from '../../models/packs';
import type { DetectedFace, DetectorConfig, DetectorFactory } from '../types';
import { OnnxDetector, onnxDetectorConfig, type OnnxDetectorConfig } from './onnx-detector';
import { checkImageInput, fixedDim, runModel, type OnnxModel } from './runtime';
import { RAW_BGR, clipBox, resizeRgb, toPlanar } from './tensor';

const STRIDES = [8, 16, 32] as const;
const HEADS = ['cls', 'obj', 'bbox', 'kps'] as const;

interface YuNetConfig extends OnnxDetectorConfig {
  /** Longest input side for models with a dynamic input (rounded up to a multiple of 32). */
  inputSize: number;
}

/**
 * YuNet (libfacedetection / OpenCV Zoo): BGR 0..255 in, letterboxed at the
 * top-left; per stride 8/16/32 a head of class, objectness, box and five
 * landmark outputs, one row per anchor point. Score = sqrt(cls * obj).
 */
class YuNetDetector extends OnnxDetector<YuNetConfig> {
  readonly name = 'yunet';

  get preferredMaxSide(): number {
    const input = this.model?.inputs[0];
    const fixed = input ? Math.max(fixedDim(input, 2) ?? 0, fixedDim(input, 3) ?? 0) : 0;
    return fixed || this.config.inputSize;
  }

  protected validate(model: OnnxModel): void {
    checkImageInput(model, 'YuNet detector', [null, 3, null, null]);
    const names = new Set(model.outputs.map((o) => o.name));
    const missing = STRIDES.flatMap((s) => HEADS.map((h) => `${h}_${s}`)).filter((n) => !names.has(n));
    if (missing.length > 0) {
      throw new PorchlightError(
        'MODEL_UNAVAILABLE',
        `${model.source}: a YuNet detector needs outputs cls/obj/bbox/kps per stride 8, 16, 32; missing ${missing.join(', ')} (it has ${[...names].join(', ')})`,
      );
    }
  }

  /** Input tensor size: the model's own when fixed, else the scaled image rounded up to multiples of 32. */
  private tensorSize(image: RawImage): { width: number; height: number } {
    const input = this.model!.inputs[0];
    const fixedHeight = fixedDim(input, 2);
    const fixedWidth = fixedDim(input, 3);
    if (fixedWidth && fixedHeight) return { width: fixedWidth, height: fixedHeight };
    const scale = Math.min(1, this.config.inputSize / Math.max(image.width, image.height));
    const roundUp = (v: number) => Math.max(32, Math.ceil((v * scale) / 32) * 32);
    return { width: roundUp(image.width), height: roundUp(image.height) };
  }

  protected async candidates(model: OnnxModel, image: RawImage, minScore: number): Promise<DetectedFace[]> {
    const size = this.tensorSize(image);
    const scale = Math.min(size.width / image.width, size.height / image.height);
    const resized = await resizeRgb(image, Math.min(size.width, Math.round(image.width * scale)), Math.min(size.height, Math.round(image.height * scale)));
    const outputs = await runModel(model, toPlanar(resized, RAW_BGR, size.width, size.height), [1, 3, size.height, size.width]);
    const byName = new Map(model.outputs.map((o, i) => [o.name, outputs[i].data as Float32Array]));
    const faces: DetectedFace[] = [];
    for (const stride of STRIDES) {
      const cls = byName.get(`cls_${stride}`)!;
      const obj = byName.get(`obj_${stride}`)!;
      const bbox = byName.get(`bbox_${stride}`)!;
      const kps = byName.get(`kps_${stride}`)!;
      const cols = Math.ceil(size.width / stride);
      for (let i = 0; i < cls.length; i++) {
        const score = Math.sqrt(clamp01(cls[i]) * clamp01(obj[i]));
        if (score < minScore) continue;
        const col = i % cols;
        const row = Math.floor(i / cols);
        const cx = (col + bbox[i * 4]) * stride;
        const cy = (row + bbox[i * 4 + 1]) * stride;
        const w = Math.exp(bbox[i * 4 + 2]) * stride;
        const h = Math.exp(bbox[i * 4 + 3]) * stride;
        const landmarks = [];
        for (let k = 0; k < 5; k++) {
          landmarks.push({ x: ((col + kps[i * 10 + 2 * k]) * stride) / scale, y: ((row + kps[i * 10 + 2 * k + 1]) * stride) / scale });
        }
        faces.push({ box: clipBox((cx - w / 2) / scale, (cy - h / 2) / scale, w / scale, h / scale, image), score, landmarks });
      }
    }
    return faces.filter((f) => f.box.width >= 1 && f.box.height >= 1);
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

export const yunetFactory: DetectorFactory = {
  name: 'yunet',
  backend: 'onnx',
  description: 'YuNet ONNX face detector with 5 landmarks (YuNet-s 640 bundled in the package, or a model file of your own); about 12 ms at 640 on one core',
  validateConfig: (config: DetectorConfig): YuNetConfig => {
    const inputSize = Number(config.inputSize ?? 640);
    if (!(Number.isInteger(inputSize) && inputSize >= 32 && inputSize % 32 === 0)) {
      throw new PorchlightError('BAD_CONFIG', `yunet inputSize must be a multiple of 32, got ${config.inputSize}`);
    }
    return { ...onnxDetectorConfig(config, defaultModelPath('detector')), inputSize };
  },
  create: (config) => new YuNetDetector(config as YuNetConfig),
};

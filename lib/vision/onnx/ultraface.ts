import { PorchlightError } from '../../errors';
import type { RawImage } from '../../image/types';
import type { DetectedFace, DetectorConfig, DetectorFactory } from '../types';
import { OnnxDetector, onnxDetectorConfig } from './onnx-detector';
import { checkImageInput, fixedDim, formatShape, runModel, type OnnxModel } from './runtime';
import { ULTRAFACE_RGB, clipBox, resizeRgb, toPlanar } from './tensor';

/**
 * Ultra-Light-Fast-Generic-Face-Detector (UltraFace): RGB, (x - 127) / 128,
 * the image stretched to the model's fixed input; outputs `scores` (softmaxed,
 * column 1 = face) and `boxes` (corners normalised to 0..1). No landmarks.
 */
class UltraFaceDetector extends OnnxDetector {
  readonly name = 'ultraface';

  get preferredMaxSide(): number {
    const input = this.model?.inputs[0];
    return input ? Math.max(fixedDim(input, 2) ?? 0, fixedDim(input, 3) ?? 0) * 2 : 1280;
  }

  protected validate(model: OnnxModel): void {
    const input = checkImageInput(model, 'UltraFace detector', [null, 3, null, null]);
    if (!fixedDim(input, 2) || !fixedDim(input, 3)) {
      throw new PorchlightError('MODEL_UNAVAILABLE', `${model.source}: an UltraFace detector needs a fixed input size, got ${formatShape(input.shape)}`);
    }
    const [scores, boxes] = model.outputs;
    if (model.outputs.length !== 2 || scores.shape.at(-1) !== 2 || boxes.shape.at(-1) !== 4) {
      throw new PorchlightError(
        'MODEL_UNAVAILABLE',
        `${model.source}: an UltraFace detector needs outputs scores (Nx2) and boxes (Nx4), got ${model.outputs.map((o) => `${o.name} ${formatShape(o.shape)}`).join(', ')}`,
      );
    }
  }

  protected async candidates(model: OnnxModel, image: RawImage, minScore: number): Promise<DetectedFace[]> {
    const height = fixedDim(model.inputs[0], 2)!;
    const width = fixedDim(model.inputs[0], 3)!;
    const resized = await resizeRgb(image, width, height);
    const [scoreTensor, boxTensor] = await runModel(model, toPlanar(resized, ULTRAFACE_RGB), [1, 3, height, width]);
    const scores = scoreTensor.data as Float32Array;
    const boxes = boxTensor.data as Float32Array;
    const faces: DetectedFace[] = [];
    for (let i = 0; i < scores.length / 2; i++) {
      const score = scores[i * 2 + 1];
      if (score < minScore) continue;
      const x0 = boxes[i * 4] * image.width;
      const y0 = boxes[i * 4 + 1] * image.height;
      const x1 = boxes[i * 4 + 2] * image.width;
      const y1 = boxes[i * 4 + 3] * image.height;
      const box = clipBox(x0, y0, x1 - x0, y1 - y0, image);
      if (box.width >= 1 && box.height >= 1) faces.push({ box, score });
    }
    return faces;
  }
}

export const ultrafaceFactory: DetectorFactory = {
  name: 'ultraface',
  backend: 'onnx',
  description: 'UltraFace (Ultra-Light-Fast-Generic) ONNX face detector, a model file of your own; about 8 ms at 320x240, no landmarks',
  // No pack ships UltraFace: without a modelPath, load() says the file is missing.
  validateConfig: (config: DetectorConfig) => onnxDetectorConfig(config, ''),
  create: (config) => new UltraFaceDetector(config as ReturnType<typeof onnxDetectorConfig>),
};

import path from 'node:path';
import { cornersIou } from '../../../image/box';
import type { Box, RawImage } from '../../../image/types';
import { modelsDir } from '../../../models/packs';
import type { DetectOptions, DetectedFace, Detector, DetectorConfig, DetectorFactory } from '../../types';
import { GraphBuilder, tfSamePads } from '../graph-builder';
import { openModelFile, runModel, type OnnxModel } from '../runtime';
import type { PixelFormat } from '../tensor';
import { cachedGraph } from './graph-cache';
import { OnnxLandmarks68 } from './landmarks';
import { CLOSE_UP_PADDINGS, PADDED_MAX_SIDE } from '../../tfjs/faceapi-detectors';
import { resizeLikeTf, squareInput } from './square-input';
import { hwioToOihw, readFaceApiWeights, weightOf, type FaceApiWeights } from './weights';

const GRAPH_VERSION = 1;
const SIZE = 512;
const BATCH_NORM_EPSILON = 0.0010000000474974513;
/** face-api's SSD input: x / 127.5 - 1. */
const SSD_PIXELS: PixelFormat = { order: 'rgb', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] };
/** Depthwise layers of MobileNetV1 that halve the feature map. */
const STRIDE_TWO_LAYERS = new Set([2, 4, 6, 12]);

/**
 * face-api's SSD MobileNetV1 face detector as an ONNX graph, from the weights
 * face-api ships: MobileNetV1 (batch norms folded into the convolutions,
 * ReLU6 as Clip), the extra feature layers and six box predictors. Outputs
 * the raw box encodings (1 x 5118 x 4) and class logits (1 x 5118 x 3); the
 * anchors, decoding and NMS are done in JS exactly as face-api does them.
 */
export function buildSsdGraph(weights: FaceApiWeights): Uint8Array {
  const g = new GraphBuilder('faceapi_ssd_mobilenetv1');
  g.input('image', [1, 3, SIZE, SIZE]);
  const zero = g.weight('zero', [], new Float32Array([0]));
  const six = g.weight('six', [], new Float32Array([6]));
  const relu6 = (x: string) => g.node('Clip', [x, zero, six]);

  interface Feature {
    name: string;
    side: number;
  }

  const conv = (x: Feature, w: { shape: number[]; values: Float32Array }, bias: Float32Array, stride: number, group = 1): Feature => {
    const k = w.shape[2];
    const [begin, end] = tfSamePads(x.side, k, stride);
    const name = g.node('Conv', [x.name, g.weight('w', w.shape, w.values), g.weight('b', [bias.length], bias)], {
      group,
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [begin, begin, end, end],
    });
    return { name, side: Math.ceil(x.side / stride) };
  };

  /** conv (3x3 or 1x1) + batch-norm offset + ReLU6. */
  const pointwise = (x: Feature, prefix: string, stride: number): Feature => {
    const filters = hwioToOihw(weightOf(weights, `${prefix}/weights`, 4));
    const out = conv(x, filters, weightOf(weights, `${prefix}/convolution_bn_offset`, 1).values, stride);
    return { ...out, name: relu6(out.name) };
  };

  /** depthwise 3x3 + batch norm (folded) + ReLU6. */
  const depthwise = (x: Feature, prefix: string, stride: number): Feature => {
    const filters = weightOf(weights, `${prefix}/depthwise_weights`, 4);
    const channels = filters.shape[2];
    const gamma = weightOf(weights, `${prefix}/BatchNorm/gamma`, 1).values;
    const beta = weightOf(weights, `${prefix}/BatchNorm/beta`, 1).values;
    const mean = weightOf(weights, `${prefix}/BatchNorm/moving_mean`, 1).values;
    const variance = weightOf(weights, `${prefix}/BatchNorm/moving_variance`, 1).values;
    const scale = Float32Array.from(gamma, (s, c) => s / Math.sqrt(variance[c] + BATCH_NORM_EPSILON));
    const dw = hwioToOihw({ shape: [3, 3, 1, channels], values: filters.values });
    const folded = Float32Array.from(dw.values, (w, i) => w * scale[Math.floor(i / 9)]);
    const bias = Float32Array.from(beta, (b, c) => b - mean[c] * scale[c]);
    const out = conv(x, { shape: dw.shape, values: folded }, bias, stride, channels);
    return { ...out, name: relu6(out.name) };
  };

  let x = pointwise({ name: 'image', side: SIZE }, 'MobilenetV1/Conv2d_0_pointwise', 2);
  let conv11: Feature | undefined;
  for (let layer = 1; layer <= 13; layer++) {
    x = depthwise(x, `MobilenetV1/Conv2d_${layer}_depthwise`, STRIDE_TWO_LAYERS.has(layer) ? 2 : 1);
    x = pointwise(x, `MobilenetV1/Conv2d_${layer}_pointwise`, 1);
    if (layer === 11) conv11 = x;
  }
  const extra: Feature[] = [];
  let y = x;
  for (let layer = 0; layer <= 7; layer++) {
    y = pointwise(y, `Prediction/Conv2d_${layer}_pointwise`, layer % 2 === 1 ? 2 : 1);
    if (layer % 2 === 1) extra.push(y);
  }

  // Each predictor's NHWC output, flattened per anchor as TensorFlow's reshape reads it.
  const predict = (feature: Feature, prefix: string, values: number): string => {
    const filters = hwioToOihw(weightOf(weights, `${prefix}/weights`, 4));
    const out = conv(feature, filters, weightOf(weights, `${prefix}/biases`, 1).values, 1);
    return g.node('Reshape', [g.node('Transpose', [out.name], { perm: [0, 2, 3, 1] }), g.int64s('shape', [1, -1, values])]);
  };
  const sources = [conv11!, x, ...extra];
  const boxes = sources.map((f, i) => predict(f, `Prediction/BoxPredictor_${i}/BoxEncodingPredictor`, 4));
  const classes = sources.map((f, i) => predict(f, `Prediction/BoxPredictor_${i}/ClassPredictor`, 3));
  g.node('Concat', boxes, { axis: 1 }, 'box_encodings');
  g.node('Concat', classes, { axis: 1 }, 'class_logits');
  g.output('box_encodings', [1, 'anchors', 4]);
  g.output('class_logits', [1, 'anchors', 3]);
  return g.build('porchlight');
}

export function ensureSsdGraph(cacheDir = path.join(modelsDir(), 'built')): string {
  return cachedGraph(cacheDir, 'faceapi-ssd-mobilenetv1', GRAPH_VERSION, readFaceApiWeights('ssd_mobilenetv1_model'), buildSsdGraph);
}

/** [ymin, xmin, ymax, xmax] boxes relative to the padded square input. */
type Corners = Float32Array;

/** face-api's box decoding: anchor centre/size with the encoding scaled by 10 (centre) and 5 (size). */
function decodeBoxes(encodings: Float32Array, anchors: Float32Array): Corners {
  const out = new Float32Array(encodings.length);
  for (let i = 0; i < encodings.length; i += 4) {
    const h = anchors[i + 2] - anchors[i];
    const w = anchors[i + 3] - anchors[i + 1];
    const cy = anchors[i] + h / 2;
    const cx = anchors[i + 1] + w / 2;
    const halfH = (Math.exp(encodings[i + 2] / 5) * h) / 2;
    const halfW = (Math.exp(encodings[i + 3] / 5) * w) / 2;
    const y = (encodings[i] / 10) * h + cy;
    const x = (encodings[i + 1] / 10) * w + cx;
    out[i] = y - halfH;
    out[i + 1] = x - halfW;
    out[i + 2] = y + halfH;
    out[i + 3] = x + halfW;
  }
  return out;
}

/** IoU of boxes i and j of face-api's [y0, x0, y1, x1] corners, either corner first. */
function boxesIou(b: Corners, i: number, j: number): number {
  const [p, q] = [4 * i, 4 * j];
  return cornersIou(
    Math.min(b[p + 1], b[p + 3]), Math.min(b[p], b[p + 2]), Math.max(b[p + 1], b[p + 3]), Math.max(b[p], b[p + 2]),
    Math.min(b[q + 1], b[q + 3]), Math.min(b[q], b[q + 2]), Math.max(b[q + 1], b[q + 3]), Math.max(b[q], b[q + 2]),
  );
}

/** face-api's SSD suppression (IoU 0.5, scores strictly above the threshold), so the same faces come out. */
function suppress(boxes: Corners, scores: Float32Array, maxResults: number, minScore: number): number[] {
  const candidates = [...scores.keys()].filter((i) => scores[i] > minScore).sort((a, b) => scores[b] - scores[a]);
  const selected: number[] = [];
  for (const candidate of candidates) {
    if (selected.length >= maxResults) break;
    if (selected.every((kept) => boxesIou(boxes, candidate, kept) <= 0.5)) selected.push(candidate);
  }
  return selected;
}

export interface OnnxSsdConfig extends DetectorConfig {
  closeUpRetry: boolean;
  cacheDir?: string;
  threads?: number;
}

/**
 * face-api's SSD MobileNetV1 on ONNX Runtime, with its 68 landmarks from the
 * landmark graph: the same faces and points as `ssd-mobilenetv1` on tfjs.
 * Like it, a frame without faces is searched again inside black borders
 * (the same CLOSE_UP_PADDINGS), which finds close-ups that fill the frame.
 */
class OnnxSsdDetector implements Detector {
  readonly name = 'ssd-mobilenetv1-onnx';
  readonly backend = 'onnx' as const;
  readonly preferredMaxSide = 1280;
  private onnx?: OnnxModel;
  private anchors?: Float32Array;
  private readonly landmarkNet: OnnxLandmarks68;

  constructor(private readonly config: OnnxSsdConfig) {
    this.landmarkNet = new OnnxLandmarks68(config);
  }

  async load(): Promise<void> {
    if (this.onnx) return;
    this.anchors = weightOf(readFaceApiWeights('ssd_mobilenetv1_model'), 'Output/extra_dim', 3).values;
    this.onnx = await openModelFile(ensureSsdGraph(this.config.cacheDir), { threads: this.config.threads });
    await this.landmarkNet.load();
  }

  async detect(image: RawImage, options: DetectOptions): Promise<DetectedFace[]> {
    await this.load();
    let faces = await this.pass(image, options, 0, 0);
    if (this.config.closeUpRetry) {
      for (const padding of CLOSE_UP_PADDINGS) {
        if (faces.length > 0) break;
        faces = await this.searchPadded(image, options, padding);
      }
    }
    faces.sort((a, b) => b.score - a.score);
    faces = faces.slice(0, options.maxFaces);
    if (options.landmarks) {
      for (const face of faces) face.landmarks = await this.landmarkNet.locate(image, face.box);
    }
    return faces;
  }

  /** The tfjs detector's close-up search: the image (shrunk to fit PADDED_MAX_SIDE) inside a black border. */
  private async searchPadded(image: RawImage, options: DetectOptions, padding: number): Promise<DetectedFace[]> {
    const shrink = Math.min(1, PADDED_MAX_SIDE / ((1 + 2 * padding) * Math.max(image.width, image.height)));
    const small = shrink < 1 ? resizeLikeTf(image, Math.max(1, Math.round(image.width * shrink)), Math.max(1, Math.round(image.height * shrink))) : image;
    const padX = Math.round(small.width * padding);
    const padY = Math.round(small.height * padding);
    const faces = await this.pass(padImage(small, padX, padY), options, padX, padY, small);
    const sx = image.width / small.width;
    const sy = image.height / small.height;
    return faces.map(({ box, score }) => ({ box: { x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy }, score }));
  }

  /** One pass on `input`; boxes shifted back by the padding and clipped to `original`. */
  private async pass(input: RawImage, options: DetectOptions, offsetX: number, offsetY: number, original: RawImage = input): Promise<DetectedFace[]> {
    const region: Box = { x: 0, y: 0, width: input.width, height: input.height };
    const { tensor } = squareInput(input, region, SIZE, false, SSD_PIXELS);
    const [encodings, logits] = await runModel(this.onnx!, tensor, [1, 3, SIZE, SIZE]);
    const boxes = decodeBoxes(encodings.data as Float32Array, this.anchors!);
    const classLogits = logits.data as Float32Array;
    const scores = new Float32Array(classLogits.length / 3);
    for (let i = 0; i < scores.length; i++) scores[i] = 1 / (1 + Math.exp(-classLogits[3 * i + 1]));
    // face-api scales back through the size the image would have had at 512 on its longer side.
    const longer = Math.max(input.width, input.height);
    const scaleX = (SIZE / Math.round((input.width * SIZE) / longer)) * input.width;
    const scaleY = (SIZE / Math.round((input.height * SIZE) / longer)) * input.height;
    const faces: DetectedFace[] = [];
    for (const i of suppress(boxes, scores, Math.max(options.maxFaces, 1) * 2, options.minConfidence)) {
      const top = Math.max(0, boxes[4 * i]) * scaleY;
      const bottom = Math.min(1, boxes[4 * i + 2]) * scaleY;
      const left = Math.max(0, boxes[4 * i + 1]) * scaleX;
      const right = Math.min(1, boxes[4 * i + 3]) * scaleX;
      const x0 = Math.max(0, left - offsetX);
      const y0 = Math.max(0, top - offsetY);
      const x1 = Math.min(original.width, right - offsetX);
      const y1 = Math.min(original.height, bottom - offsetY);
      if (x1 - x0 < 2 || y1 - y0 < 2) continue;
      faces.push({ box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score: scores[i] });
    }
    return faces;
  }

  dispose(): void {
    // Sessions are cached per thread.
  }
}

/** The image centred in a black canvas padX / padY larger on each side. */
function padImage(image: RawImage, padX: number, padY: number): RawImage {
  const width = image.width + 2 * padX;
  const height = image.height + 2 * padY;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < image.height; y++) {
    data.set(image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3), ((y + padY) * width + padX) * 3);
  }
  return { data, width, height, channels: 3 };
}

export const ssdMobilenetV1OnnxFactory: DetectorFactory = {
  name: 'ssd-mobilenetv1-onnx',
  backend: 'onnx',
  description: "face-api's SSD MobileNetV1 and 68-point landmarks as ONNX graphs built from face-api's weights (same faces as on tfjs, several times faster)",
  validateConfig: (config) => ({ ...config, closeUpRetry: config.closeUpRetry !== false }),
  create: (config) => new OnnxSsdDetector(config as OnnxSsdConfig),
};

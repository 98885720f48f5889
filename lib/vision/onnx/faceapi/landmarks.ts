import path from 'node:path';
import type { Box, Point, RawImage } from '../../../image/types';
import { modelsDir } from '../../../models/packs';
import { GraphBuilder, tfSamePads } from '../graph-builder';
import { openModelFile, runModel, type OnnxModel } from '../runtime';
import { cachedGraph } from './graph-cache';
import { squareInput } from './square-input';
import { FACEAPI_PIXELS, hwioToOihw, readFaceApiWeights, weightOf, type FaceApiWeights } from './weights';

const GRAPH_VERSION = 1;
const SIZE = 112;

/**
 * face-api's 68-point landmark net as an ONNX graph, from the weights face-api
 * ships: four dense blocks of depthwise-separable convolutions (each block's
 * outputs summed into the next layer's input), a 7x7 average pool and a fully
 * connected layer giving 68 (x, y) pairs relative to the 112x112 input.
 */
export function buildLandmarkGraph(weights: FaceApiWeights): Uint8Array {
  const g = new GraphBuilder('faceapi_landmarks68');
  g.input('face', ['N', 3, SIZE, SIZE]);
  let side = SIZE;

  const convPads = (stride: number): number[] => {
    const [begin, end] = tfSamePads(side, 3, stride);
    return [begin, begin, end, end];
  };

  /** Depthwise 3x3 (with the stride), pointwise 1x1, bias. */
  const separable = (x: string, prefix: string, stride: number): string => {
    const depthwise = weightOf(weights, `${prefix}/depthwise_filter`, 4);
    const pointwise = hwioToOihw(weightOf(weights, `${prefix}/pointwise_filter`, 4));
    const bias = weightOf(weights, `${prefix}/bias`, 1);
    const channels = depthwise.shape[2];
    // [3, 3, C, 1] -> [C, 1, 3, 3]: one filter per channel (group = C).
    const dw = hwioToOihw({ shape: [3, 3, 1, channels], values: depthwise.values });
    const d = g.node('Conv', [x, g.weight(`${prefix}/dw`, dw.shape, dw.values)], { group: channels, kernel_shape: [3, 3], strides: [stride, stride], pads: convPads(stride) });
    return g.node('Conv', [d, g.weight(`${prefix}/pw`, pointwise.shape, pointwise.values), g.weight(`${prefix}/b`, bias.shape, bias.values)], { kernel_shape: [1, 1] });
  };

  const denseBlock = (x: string, prefix: string, first: boolean): string => {
    let out1: string;
    if (first) {
      const filters = hwioToOihw(weightOf(weights, `${prefix}/conv0/filters`, 4));
      const bias = weightOf(weights, `${prefix}/conv0/bias`, 1);
      out1 = g.node('Conv', [x, g.weight(`${prefix}/conv0/w`, filters.shape, filters.values), g.weight(`${prefix}/conv0/b`, bias.shape, bias.values)], {
        kernel_shape: [3, 3],
        strides: [2, 2],
        pads: convPads(2),
      });
    } else {
      out1 = separable(x, `${prefix}/conv0`, 2);
    }
    side = Math.ceil(side / 2);
    out1 = g.node('Relu', [out1]);
    const out2 = separable(out1, `${prefix}/conv1`, 1);
    const sum2 = g.node('Add', [out1, out2]);
    const out3 = separable(g.node('Relu', [sum2]), `${prefix}/conv2`, 1);
    const sum3 = g.node('Add', [sum2, out3]);
    const out4 = separable(g.node('Relu', [sum3]), `${prefix}/conv3`, 1);
    return g.node('Relu', [g.node('Add', [sum3, out4])]);
  };

  let x = denseBlock('face', 'dense0', true);
  x = denseBlock(x, 'dense1', false);
  x = denseBlock(x, 'dense2', false);
  x = denseBlock(x, 'dense3', false);
  x = g.node('Flatten', [g.node('AveragePool', [x], { kernel_shape: [7, 7], strides: [2, 2] })], { axis: 1 });
  const fc = weightOf(weights, 'fc/weights', 2);
  const fcBias = weightOf(weights, 'fc/bias', 1);
  g.node('Add', [g.node('MatMul', [x, g.weight('fc/w', fc.shape, fc.values)]), g.weight('fc/b', fcBias.shape, fcBias.values)], {}, 'landmarks');
  g.output('landmarks', ['N', fc.shape[1]]);
  return g.build('porchlight');
}

/** The pixels face-api cuts for a box: clipped at the image borders, then each of x, y, width, height floored. */
function faceApiRegion(box: Box, image: RawImage): Box {
  const x = Math.max(box.x, 0);
  const y = Math.max(box.y, 0);
  const width = Math.min(box.x + box.width - x, image.width - x);
  const height = Math.min(box.y + box.height - y, image.height - y);
  return { x: Math.floor(x), y: Math.floor(y), width: Math.max(1, Math.floor(width)), height: Math.max(1, Math.floor(height)) };
}

/** face-api's 68-point landmark net on ONNX Runtime: same weights, same input rule, same points. */
export class OnnxLandmarks68 {
  private onnx?: OnnxModel;

  constructor(private readonly config: { cacheDir?: string; threads?: number } = {}) {}

  async load(): Promise<void> {
    this.onnx ??= await openModelFile(ensureLandmarkGraph(this.config.cacheDir), { threads: this.config.threads });
  }

  async locate(image: RawImage, box: Box): Promise<Point[]> {
    await this.load();
    const region = faceApiRegion(box, image);
    const { tensor, side } = squareInput(image, region, SIZE, true, FACEAPI_PIXELS);
    const [output] = await runModel(this.onnx!, tensor, [1, 3, SIZE, SIZE]);
    const values = output.data as Float32Array;
    // face-api maps back with half the difference, even when the padding before was rounded down,
    // and shifts by the box's own corner rather than the floored pixel region.
    const half = Math.abs(region.width - region.height) / 2;
    const padX = region.width < region.height ? half : 0;
    const padY = region.height < region.width ? half : 0;
    const points: Point[] = [];
    for (let i = 0; i < 68; i++) {
      points.push({ x: box.x + values[2 * i] * side - padX, y: box.y + values[2 * i + 1] * side - padY });
    }
    return points;
  }
}

export function ensureLandmarkGraph(cacheDir = path.join(modelsDir(), 'built')): string {
  return cachedGraph(cacheDir, 'faceapi-landmarks68', GRAPH_VERSION, readFaceApiWeights('face_landmark_68_model'), buildLandmarkGraph);
}

import path from 'node:path';
import type { Box, Point, RawImage } from '../../../image/types';
import { modelsDir } from '../../../models/packs';
import { RESNET_CHIP } from '../../align';
import type { Embedder } from '../../embedder';
import { GraphBuilder } from '../graph-builder';
import { openModelFile, runModel, type OnnxModel } from '../runtime';
import { toPlanar } from '../tensor';
import { cachedGraph } from './graph-cache';
import { OnnxLandmarks68 } from './landmarks';
import { FACEAPI_PIXELS, hwioToOihw, readFaceApiWeights, weightOf, type FaceApiWeights } from './weights';

/** Bump when the graph this file builds changes, so cached graphs of older code are not reused. */
const GRAPH_VERSION = 1;
const SIZE = RESNET_CHIP.size;


/** A feature map in the graph: its name, channels and (square) side. */
interface Feature {
  name: string;
  channels: number;
  side: number;
}

/**
 * face-api's 128-d ResNet descriptor (a port of dlib's ResNet-29) as an ONNX
 * graph, built from the weights face-api ships. Each of its conv layers is
 * conv + bias, then a per-channel scale and shift; both are folded into one
 * Conv. Input: N x 3 x 150 x 150, already normalised; output: N x 128.
 */
export function buildResNetGraph(weights: FaceApiWeights): Uint8Array {
  const g = new GraphBuilder('faceapi_resnet128');
  g.input('chip', ['N', 3, SIZE, SIZE]);

  const conv = (x: Feature, prefix: string, stride: 1 | 2, relu: boolean): Feature => {
    const filters = hwioToOihw(weightOf(weights, `${prefix}/conv/filters`, 4));
    const bias = weightOf(weights, `${prefix}/conv/bias`, 1).values;
    const scale = weightOf(weights, `${prefix}/scale/weights`, 1).values;
    const shift = weightOf(weights, `${prefix}/scale/biases`, 1).values;
    const [outChannels, , k] = filters.shape;
    const perOutput = filters.values.length / outChannels;
    const folded = Float32Array.from(filters.values, (w, i) => w * scale[Math.floor(i / perOutput)]);
    const foldedBias = Float32Array.from(bias, (b, o) => b * scale[o] + shift[o]);
    // tfjs 'same' (stride 1) pads (k - 1) / 2 on each side; the stride-2 layers are 'valid'.
    const pad = stride === 1 ? (k - 1) / 2 : 0;
    let out = g.node('Conv', [x.name, g.weight(`${prefix}/w`, filters.shape, folded), g.weight(`${prefix}/b`, [outChannels], foldedBias)], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
    });
    if (relu) out = g.node('Relu', [out]);
    return { name: out, channels: outChannels, side: Math.floor((x.side + 2 * pad - k) / stride) + 1 };
  };

  const residual = (x: Feature, prefix: string): Feature => {
    const inner = conv(conv(x, `${prefix}/conv1`, 1, true), `${prefix}/conv2`, 1, false);
    return { ...inner, name: g.node('Relu', [g.node('Add', [inner.name, x.name])]) };
  };

  // The shortcut is a 2x2 average pool, zero-padded to the new channel count;
  // where the strided conv comes out one pixel smaller, it gets a zero row and column.
  const residualDown = (x: Feature, prefix: string): Feature => {
    let inner = conv(conv(x, `${prefix}/conv1`, 2, true), `${prefix}/conv2`, 1, false);
    let shortcut: Feature = { name: g.node('AveragePool', [x.name], { kernel_shape: [2, 2], strides: [2, 2] }), channels: x.channels, side: Math.floor(x.side / 2) };
    if (inner.side !== shortcut.side) {
      const grow = shortcut.side - inner.side;
      inner = { ...inner, name: g.node('Pad', [inner.name, g.int64s('pad_hw', [0, 0, 0, 0, 0, 0, grow, grow])]), side: shortcut.side };
    }
    if (inner.channels !== shortcut.channels) {
      const extra = inner.channels - shortcut.channels;
      shortcut = { ...shortcut, name: g.node('Pad', [shortcut.name, g.int64s('pad_c', [0, 0, 0, 0, 0, extra, 0, 0])]), channels: inner.channels };
    }
    return { ...inner, name: g.node('Relu', [g.node('Add', [inner.name, shortcut.name])]) };
  };

  let x = conv({ name: 'chip', channels: 3, side: SIZE }, 'conv32_down', 2, true);
  x = { ...x, name: g.node('MaxPool', [x.name], { kernel_shape: [3, 3], strides: [2, 2] }), side: Math.floor((x.side - 3) / 2) + 1 };
  for (const block of ['conv32_1', 'conv32_2', 'conv32_3']) x = residual(x, block);
  x = residualDown(x, 'conv64_down');
  for (const block of ['conv64_1', 'conv64_2', 'conv64_3']) x = residual(x, block);
  x = residualDown(x, 'conv128_down');
  for (const block of ['conv128_1', 'conv128_2']) x = residual(x, block);
  x = residualDown(x, 'conv256_down');
  for (const block of ['conv256_1', 'conv256_2']) x = residual(x, block);
  x = residualDown(x, 'conv256_down_out');

  const pooled = g.node('Flatten', [g.node('GlobalAveragePool', [x.name])], { axis: 1 });
  const fc = weightOf(weights, 'fc', 2);
  g.node('MatMul', [pooled, g.weight('fc', fc.shape, fc.values)], {}, 'descriptor');
  g.output('descriptor', ['N', fc.shape[1]]);
  return g.build('porchlight');
}

export function ensureResNetGraph(cacheDir = path.join(modelsDir(), 'built')): string {
  return cachedGraph(cacheDir, 'faceapi-resnet128', GRAPH_VERSION, readFaceApiWeights('face_recognition_model'), buildResNetGraph);
}

export interface OnnxResNetConfig {
  /** Where built graphs are cached; default `<user dir>/porchlight/models/built`. */
  cacheDir?: string;
  threads?: number;
}

/**
 * face-api's ResNet descriptor on ONNX Runtime. Same weights, same chips,
 * same model id as the tfjs embedder: a DB enrolled with either backend
 * keeps matching with the other.
 */
export class OnnxFaceApiResNet implements Embedder {
  readonly model = 'faceapi-resnet128';
  readonly dimensions = 128;
  readonly chip = RESNET_CHIP;
  private onnx?: OnnxModel;
  private readonly landmarkNet: OnnxLandmarks68;

  constructor(private readonly config: OnnxResNetConfig = {}) {
    this.landmarkNet = new OnnxLandmarks68(config);
  }

  async load(): Promise<void> {
    this.onnx ??= await openModelFile(ensureResNetGraph(this.config.cacheDir), { threads: this.config.threads });
    await this.landmarkNet.load();
  }

  /** face-api's landmark net, also as a graph built from its weights (points within 0.001 px of tfjs). */
  landmarks68(image: RawImage, box: Box): Promise<Point[]> {
    return this.landmarkNet.locate(image, box);
  }

  async embed(chips: RawImage[]): Promise<Float32Array[]> {
    if (chips.length === 0) return [];
    await this.load();
    const plane = 3 * SIZE * SIZE;
    const input = new Float32Array(chips.length * plane);
    chips.forEach((chip, i) => input.set(toPlanar(chip, FACEAPI_PIXELS), i * plane));
    const [descriptors] = await runModel(this.onnx!, input, [chips.length, 3, SIZE, SIZE]);
    const data = descriptors.data as Float32Array;
    return chips.map((_, i) => data.slice(i * this.dimensions, (i + 1) * this.dimensions));
  }
}

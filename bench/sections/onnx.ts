import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { decodeImage, type RawImage } from '../../lib/image';
import { alignFace, createDefaultRegistry, type DetectOptions, type Detector, type Embedder, FaceApiResNetEmbedder, locateLandmarks68, OnnxFaceApiResNet, OnnxLandmarks68, OnnxRecognizer } from '../../lib/vision';
import { embedFaces, type EmbedRequest, WorkerPool } from '../../lib/engine';
import { latency, percentile, type BenchSection, type Measurement } from '../types';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const sharedModels = path.resolve(repoRoot, '..', 'shared', 'models');
const lfw = path.resolve(repoRoot, '..', 'shared', 'datasets', 'lfw', 'lfw_deepfunneled');
const demoDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const model = (name: string) => path.join(sharedModels, name);
/** Graphs built from face-api's weights are cached here rather than in a Node-RED user dir. */
const cacheDir = path.join(os.tmpdir(), 'porchlight-bench-graphs');

const DETECT: DetectOptions = { minConfidence: 0.6, minFaceSize: 0, maxFaces: 10, landmarks: false };

async function timed(runs: number, work: () => Promise<unknown>): Promise<number[]> {
  await work(); // load and warm up
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await work();
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** A 1280x720 doorstep-like frame with one LFW face about 200 px tall in the middle. */
async function doorstepFrame(): Promise<Buffer> {
  const face = await sharp(path.join(lfw, 'Aaron_Peirsol', 'Aaron_Peirsol_0001.jpg')).resize(500, 500).toBuffer();
  return sharp({ create: { width: 1280, height: 720, channels: 3, background: '#6b7078' } })
    .composite([{ input: face, left: 390, top: 110 }])
    .jpeg({ quality: 90 })
    .toBuffer();
}

const median = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 50);

/**
 * Per network, tfjs-wasm against ONNX Runtime (1 and 2 intra-op threads) in
 * this process; then the whole recognition pipeline on the worker pool
 * (decode, detect, align, embed with flip averaging) on one 1280x720 frame,
 * per backend, with speed-ups against face-api on tfjs measured in the same run.
 */
const section: BenchSection = {
  name: 'onnx',
  async run(ctx) {
    const fast = ctx.quick ? 5 : 40;
    const slow = ctx.quick ? 3 : 12;
    const out: Measurement[] = [];
    if (!fs.existsSync(sharedModels)) {
      ctx.log('  (skipped: ../shared/models not found)');
      return out;
    }
    const registry = createDefaultRegistry();
    const detector = async (name: string, config: Record<string, unknown>): Promise<Detector> => (await registry.create(name, config, { fallback: false })).detector;

    const sample = (await decodeImage(fs.readFileSync(path.join(demoDir, 'sample1.jpg')), { maxSide: 640 })).image;
    const ssd = await detector('ssd-mobilenetv1', { closeUpRetry: false });
    const ssdSamples = await timed(slow, () => ssd.detect(sample, DETECT));
    out.push(latency('ssd-mobilenetv1 detect 640x427 (tfjs)', ssdSamples));
    for (const threads of [1, 2]) {
      const ssdOnnx = await detector('ssd-mobilenetv1-onnx', { closeUpRetry: false, threads, cacheDir });
      const samples = await timed(slow, () => ssdOnnx.detect(sample, DETECT));
      out.push(latency(`ssd-mobilenetv1 detect 640x427 (onnx graph, ${threads}t)`, samples));
      if (threads === 1) out.push({ name: 'ssd-mobilenetv1 speed-up onnx/tfjs (p50)', kind: 'value', value: median(ssdSamples) / median(samples), unit: 'x' });
    }
    for (const threads of [1, 2]) {
      for (const [name, file] of [
        ['yunet', 'yunet_s_640_640.onnx'],
        ['yunet', 'yunet_s_320_320.onnx'],
        ['yunet', 'yunet_n_dynamic.onnx'],
        ['ultraface', 'ultraface_version-RFB-320.onnx'],
      ] as const) {
        const d = await detector(name, { modelPath: model(file), threads });
        const samples = await timed(fast, () => d.detect(sample, DETECT));
        out.push(latency(`${file.replace('.onnx', '')} detect 640x427 (onnx, ${threads}t)`, samples));
        if (threads === 1 && file === 'yunet_s_640_640.onnx') {
          out.push({ name: 'detector speed-up yunet-640 onnx vs ssd tfjs (p50)', kind: 'value', value: median(ssdSamples) / median(samples), unit: 'x' });
        }
      }
    }

    // Descriptors: face-api's ResNet on a 150x150 chip, on tfjs and as our ONNX graph; MobileFaceNet on 112x112.
    const portrait = (await decodeImage(fs.readFileSync(path.join(lfw, 'Aaron_Peirsol', 'Aaron_Peirsol_0001.jpg')))).image;
    const [withLandmarks] = await ssd.detect(portrait, { ...DETECT, landmarks: true });
    const chip150 = alignFace(portrait, withLandmarks.landmarks!);
    const chip112: RawImage = { data: new Uint8Array(112 * 112 * 3).fill(128), width: 112, height: 112, channels: 3 };
    const embedTimes = async (embedder: Embedder, chip: RawImage, runs: number) => {
      await embedder.load();
      return timed(runs, () => embedder.embed([chip]));
    };
    const box = withLandmarks.box;
    const landmarksTfjs = await timed(fast, () => locateLandmarks68(portrait, box));
    out.push(latency('faceapi-landmarks68 (tfjs)', landmarksTfjs));
    for (const threads of [1, 2]) {
      const net = new OnnxLandmarks68({ threads, cacheDir });
      const samples = await timed(fast, () => net.locate(portrait, box));
      out.push(latency(`faceapi-landmarks68 (onnx graph, ${threads}t)`, samples));
      if (threads === 1) out.push({ name: 'faceapi-landmarks68 speed-up onnx/tfjs (p50)', kind: 'value', value: median(landmarksTfjs) / median(samples), unit: 'x' });
    }
    const resnetTfjs = await embedTimes(new FaceApiResNetEmbedder(), chip150, slow * 2);
    out.push(latency('faceapi-resnet128 descriptor (tfjs)', resnetTfjs));
    for (const threads of [1, 2]) {
      const resnetOnnx = await embedTimes(new OnnxFaceApiResNet({ threads, cacheDir }), chip150, fast);
      out.push(latency(`faceapi-resnet128 descriptor (onnx graph, ${threads}t)`, resnetOnnx));
      if (threads === 1) out.push({ name: 'faceapi-resnet128 speed-up onnx/tfjs (p50)', kind: 'value', value: median(resnetTfjs) / median(resnetOnnx), unit: 'x' });
      const mobile = await embedTimes(new OnnxRecognizer({ modelPath: model('mobilefacenet_foamliu_alenchen.onnx'), threads }), chip112, fast);
      out.push(latency(`mobilefacenet descriptor (onnx, ${threads}t)`, mobile));
    }

    // End to end on the worker pool, as face-recognize runs it.
    const frame = await doorstepFrame();
    const pool = new WorkerPool({ threads: 1, maxQueue: 4, taskTimeoutMs: 120_000 });
    const pipelines: Array<[string, EmbedRequest]> = [
      ['ssd + landmarks + resnet (tfjs)', {}],
      ['ssd + landmarks + resnet (onnx graphs)', { detector: 'ssd-mobilenetv1-onnx', detectorConfig: { cacheDir }, recognizer: 'faceapi-resnet128-onnx', recognizerConfig: { cacheDir } }],
      [
        'yunet-640 + mobilefacenet (onnx)',
        {
          detector: 'yunet',
          detectorConfig: { modelPath: model('yunet_s_640_640.onnx') },
          recognizer: 'onnx',
          recognizerConfig: { modelPath: model('mobilefacenet_foamliu_alenchen.onnx') },
        },
      ],
    ];
    const e2e: number[][] = [];
    try {
      for (const [name, request] of pipelines) {
        const samples = await timed(slow, async () => {
          const result = await embedFaces(pool, frame, { ...request, flip: true, options: { minConfidence: 0.6 } });
          if (result.faces.length !== 1) throw new Error(`${name}: ${result.faces.length} faces in the one-face frame`);
        });
        e2e.push(samples);
        out.push(latency(`frame 1280x720 -> embedding: ${name}`, samples, 'decode, detect, align, embed + flip; 1 worker'));
      }
    } finally {
      await pool.close();
    }
    out.push({ name: 'end-to-end speed-up face-api on onnx vs tfjs (p50)', kind: 'value', value: median(e2e[0]) / median(e2e[1]), unit: 'x' });
    out.push({ name: 'end-to-end speed-up yunet+mobilefacenet vs face-api tfjs (p50)', kind: 'value', value: median(e2e[0]) / median(e2e[2]), unit: 'x' });
    return out;
  },
};

export default section;

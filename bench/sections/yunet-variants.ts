import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { centralFace } from '../../cli/common';
import { bundledModelPath } from '../../lib/models';
import type { Box } from '../../lib/image';
import { euclidean } from '../../lib/vision';
import { embedFaces, type EmbedRequest, WorkerPool } from '../../lib/engine';
import { latency, percentile, type BenchSection, type Measurement } from '../types';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const lfw = path.join(shared, 'datasets', 'lfw', 'lfw_deepfunneled');
const videos = path.join(shared, 'datasets', 'intel-sample-videos', 'preview');

/** The YuNet variants compared, each with the bundled MobileFaceNet; `inputSize` is the longest side a dynamic model runs at. */
const VARIANTS: Array<{ name: string; file: string; inputSize?: number }> = [
  { name: 'yunet_s_640_640', file: 'yunet_s_640_640.onnx' },
  { name: 'yunet_s_320_320', file: 'yunet_s_320_320.onnx' },
  { name: 'yunet_n_dynamic@640', file: 'yunet_n_dynamic.onnx', inputSize: 640 },
  { name: 'yunet_n_dynamic@native', file: 'yunet_n_dynamic.onnx', inputSize: 1280 },
];

const FRAMES = [
  { width: 640, height: 480 },
  { width: 1280, height: 720 },
];

/** A deterministic pseudo-random sequence (the same frames in every run). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** LFW people with two images or more, in name order: the first image is enrolled, the second is the visitor. */
function lfwPeople(count: number): Array<{ name: string; enrol: string; visit: string }> {
  const people: Array<{ name: string; enrol: string; visit: string }> = [];
  for (const name of fs.readdirSync(lfw).sort()) {
    const files = fs.readdirSync(path.join(lfw, name)).filter((f) => f.endsWith('.jpg')).sort();
    if (files.length < 2) continue;
    people.push({ name, enrol: path.join(lfw, name, files[0]), visit: path.join(lfw, name, files[1]) });
    if (people.length === count) break;
  }
  return people;
}

/** Frames of the Intel sample clips (real corridors and rooms, with people in them), as backgrounds. */
async function backgrounds(): Promise<Array<{ gif: string; page: number }>> {
  const out: Array<{ gif: string; page: number }> = [];
  for (const gif of fs.readdirSync(videos).filter((f) => f.endsWith('.gif')).sort()) {
    const { pages = 1 } = await sharp(path.join(videos, gif)).metadata();
    for (let page = 0; page < pages; page += 10) out.push({ gif: path.join(videos, gif), page });
  }
  return out;
}

/**
 * A doorbell-sized frame: a background frame of a sample clip scaled (and
 * cropped) to the frame size, with an LFW photo pasted so that its face is
 * 5-40 % of the frame height (someone from about 4 m down to 0.5 m from a
 * wide-angle door camera), somewhere in the frame. Returns the JPEG and where the photo is.
 */
async function doorbellFrame(
  visit: string,
  background: { gif: string; page: number },
  size: { width: number; height: number },
  next: () => number,
): Promise<{ jpeg: Buffer; pasted: Box }> {
  // The face of a deep-funneled LFW photo spans about 110 of its 250 px.
  const faceHeight = size.height * (0.05 + 0.35 * next());
  const side = Math.min(size.height, Math.round((faceHeight / 110) * 250));
  const left = Math.round(next() * (size.width - side));
  const top = Math.round(next() * (size.height - side));
  const photo = await sharp(visit).resize(side, side).toBuffer();
  const jpeg = await sharp(background.gif, { page: background.page })
    .resize(size.width, size.height, { fit: 'cover' })
    .removeAlpha()
    .composite([{ input: photo, left, top }])
    .jpeg({ quality: 85 })
    .toBuffer();
  return { jpeg, pasted: { x: left, y: top, width: side, height: side } };
}

const inside = (box: Box, area: Box) => {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return cx >= area.x && cx <= area.x + area.width && cy >= area.y && cy <= area.y + area.height;
};

const median = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 50);

/**
 * Which YuNet gives the best accuracy per millisecond on doorbell-sized
 * frames: for each variant (with MobileFaceNet and flip averaging, as the
 * default engine runs them), LFW people are enrolled from one photo and
 * their other photo is pasted into 640x480 and 1280x720 frames of real
 * camera clips. Accuracy is the share of visitors found and named right
 * (nearest enrolled person); time is frame -> embeddings on one worker
 * (decode, detect, align, embed). All variants see the same frames, in the same run.
 */
const section: BenchSection = {
  name: 'yunet-variants',
  async run(ctx) {
    const out: Measurement[] = [];
    const missing = [lfw, videos, ...VARIANTS.map((v) => path.join(shared, 'models', v.file))].find((p) => !fs.existsSync(p));
    if (missing) {
      ctx.log(`  (skipped: ${missing} not found)`);
      return out;
    }
    const people = lfwPeople(ctx.quick ? 20 : 100);
    const scenes = await backgrounds();
    const pool = new WorkerPool({ threads: 1, maxQueue: 4, taskTimeoutMs: 120_000 });
    const recognizer = { recognizer: 'onnx', recognizerConfig: { modelPath: bundledModelPath('recognizer') } };
    // Frames are made once, so every variant sees the same ones.
    const next = random(14);
    const frames = new Map<string, Array<{ person: number; jpeg: Buffer; pasted: Box }>>();
    for (const size of FRAMES) {
      const list = [];
      for (let i = 0; i < people.length; i++) list.push({ person: i, ...(await doorbellFrame(people[i].visit, scenes[i % scenes.length], size, next)) });
      frames.set(`${size.width}x${size.height}`, list);
    }
    const ratios = new Map<string, number>();
    const requests = VARIANTS.map((variant): EmbedRequest => ({
      detector: 'yunet',
      detectorConfig: {
        modelPath: variant.file === 'yunet_s_640_640.onnx' ? bundledModelPath('detector') : path.join(shared, 'models', variant.file),
        ...(variant.inputSize ? { inputSize: variant.inputSize } : {}),
      },
      ...recognizer,
      flip: true,
      secondDetector: 'none',
      options: { minConfidence: 0.6, minFaceSize: 0, maxFaces: 10 },
      policy: 'wait',
    }));
    try {
      // The galleries: one portrait each, embedded by each variant's pipeline.
      const galleries: Array<Array<Float32Array | undefined>> = [];
      for (const request of requests) {
        const gallery: Array<Float32Array | undefined> = [];
        for (const person of people) {
          const result = await embedFaces(pool, fs.readFileSync(person.enrol), request);
          gallery.push(centralFace(result.faces.filter((f) => f.embedding), result.width, result.height)?.embedding);
        }
        galleries.push(gallery);
      }
      for (const [size, list] of frames) {
        for (const request of requests) await embedFaces(pool, list[0].jpeg, request); // warm-up at this size
        const times = VARIANTS.map((): number[] => []);
        const found = VARIANTS.map(() => 0);
        const named = VARIANTS.map(() => 0);
        // Variant after variant on each frame, so that load from other work on the machine falls on all of them alike.
        for (const frame of list) {
          for (const [v, request] of requests.entries()) {
            const t0 = performance.now();
            const result = await embedFaces(pool, frame.jpeg, request);
            times[v].push(performance.now() - t0);
            const face = result.faces.filter((f) => f.embedding && inside(f.box, frame.pasted)).sort((a, b) => b.box.width - a.box.width)[0];
            if (!face) continue;
            found[v]++;
            let best = -1;
            let bestDistance = Infinity;
            galleries[v].forEach((g, i) => {
              const d = g ? euclidean(face.embedding!, g) : Infinity;
              if (d < bestDistance) [best, bestDistance] = [i, d];
            });
            if (best === frame.person) named[v]++;
          }
        }
        for (const [v, variant] of VARIANTS.entries()) {
          const accuracy = (100 * named[v]) / list.length;
          const perMs = accuracy / median(times[v]);
          out.push(latency(`${variant.name} ${size}: frame -> embeddings`, times[v], '1 worker; decode, detect, align, MobileFaceNet + flip'));
          out.push({ name: `${variant.name} ${size}: found`, kind: 'value', value: (100 * found[v]) / list.length, unit: '%', note: `of ${list.length} visitors` });
          out.push({ name: `${variant.name} ${size}: named right`, kind: 'value', value: accuracy, unit: '%', note: `nearest of ${people.length} enrolled` });
          out.push({ name: `${variant.name} ${size}: accuracy per ms`, kind: 'value', value: perMs, unit: '%/ms', note: 'named right / p50' });
          ratios.set(`${variant.name} ${size}`, perMs);
        }
      }
    } finally {
      await pool.close();
    }
    for (const size of frames.keys()) {
      const base = ratios.get(`${VARIANTS[0].name} ${size}`)!;
      for (const variant of VARIANTS.slice(1)) {
        out.push({ name: `${variant.name} ${size}: accuracy per ms vs s_640`, kind: 'value', value: ratios.get(`${variant.name} ${size}`)! / base, unit: 'x' });
      }
    }
    return out;
  },
};

export default section;

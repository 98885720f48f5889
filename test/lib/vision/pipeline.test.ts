import assert from 'node:assert/strict';
import fs from 'node:fs';
import sharp from 'sharp';
import { decodeImage } from '../../../lib/image/decode';
import type { RawImage } from '../../../lib/image/types';
import { euclidean, type Embedder } from '../../../lib/vision/embedder';
import { createDefaultRegistry } from '../../../lib/vision/detectors';
import { analyzeFaces, type PipelineModels, type PipelineOptions } from '../../../lib/vision/pipeline';
import { createEmbedder } from '../../../lib/vision/recognizers';
import { DEFAULT_DETECT_OPTIONS, type Detector } from '../../../lib/vision/types';
import { lfwImage } from '../../support/paths';

/**
 * lib/vision/pipeline.ts without a worker pool: the bundled YuNet detector and
 * MobileFaceNet recognizer (models/), loaded in this thread, on real LFW photos.
 */
describe('the face pipeline (lib/vision/pipeline.ts, no pool; YuNet + MobileFaceNet, LFW)', function () {
  this.timeout(120_000);
  let detector: Detector;
  let embedder: Embedder;

  const decode = async (file: string) => decodeImage(fs.readFileSync(file), { maxSide: detector.preferredMaxSide });
  const options = (scale: number, extra: Partial<PipelineOptions> = {}): PipelineOptions => ({
    detect: DEFAULT_DETECT_OPTIONS,
    scale,
    flip: true,
    minQuality: 0,
    cropSize: 0,
    ...extra,
  });
  const run = async (file: string, extra: Partial<PipelineOptions> = {}, models: Partial<PipelineModels> = {}) => {
    const { image, scale } = await decode(file);
    return analyzeFaces(image, { embedder, detector, ...models }, options(scale, extra));
  };

  before(async () => {
    detector = (await createDefaultRegistry().create('yunet', {}, { fallback: false })).detector;
    embedder = await createEmbedder('onnx', {});
  });
  after(() => detector?.dispose());

  it('finds, aligns, scores and embeds the face of a photo, with a JPEG crop', async () => {
    const result = await run(lfwImage('Aaron_Peirsol', 1), { cropSize: 96 });
    assert.equal(result.detector, 'yunet');
    assert.equal(result.faces.length, 1);
    const [face] = result.faces;
    assert.equal(face.model, embedder.model);
    assert.equal(face.embedding?.length, embedder.dimensions);
    assert.ok(face.quality.score > 0.3 && face.quality.score <= 1, `quality ${face.quality.score}`);
    // LFW's deep-funneled photos are 250x250 with the face in the middle: the box is in source pixels.
    assert.ok(face.box.x > 40 && face.box.x + face.box.width < 210, JSON.stringify(face.box));
    const crop = await sharp(Buffer.from(face.crop!)).metadata();
    assert.equal(crop.format, 'jpeg');
    assert.equal(Math.max(crop.width!, crop.height!), 96);
    assert.ok(result.timings.detectMs >= 0 && result.timings.embedMs > 0);
  });

  it('tells the same person from another: two photos of one man are closer than photos of two', async () => {
    const embed = async (person: string, n: number) => (await run(lfwImage(person, n))).faces[0].embedding!;
    const [a1, a2, b1] = [await embed('Abdullah_Gul', 1), await embed('Abdullah_Gul', 6), await embed('Aaron_Peirsol', 1)];
    assert.ok(euclidean(a1, a2) < euclidean(a1, b1), `same ${euclidean(a1, a2).toFixed(3)} vs other ${euclidean(a1, b1).toFixed(3)}`);
  });

  it('uses given faces without a detector, to the same embedding', async () => {
    const file = lfwImage('Aaron_Peirsol', 1);
    const detected = await run(file);
    const given = detected.faces.map(({ box, score, landmarks }) => ({ box, score, landmarks }));
    const again = await run(file, { faces: given }, { detector: undefined });
    assert.equal(again.detector, 'given');
    assert.deepEqual(again.faces[0].box, detected.faces[0].box);
    assert.ok(euclidean(again.faces[0].embedding!, detected.faces[0].embedding!) < 1e-4);
  });

  it('leaves faces under minQuality without an embedding, and without flip embeds each chip once', async () => {
    const file = lfwImage('Aaron_Peirsol', 1);
    const none = await run(file, { minQuality: 1.01 });
    assert.equal(none.faces.length, 1);
    assert.equal(none.faces[0].embedding, undefined);
    let chips = 0;
    const counting: Embedder = Object.assign(Object.create(embedder), { embed: (batch: RawImage[]) => ((chips += batch.length), embedder.embed(batch)) });
    await run(file, { flip: false }, { embedder: counting });
    assert.equal(chips, 1);
    await run(file, { flip: true }, { embedder: counting });
    assert.equal(chips, 3, 'flip embeds the face and its mirror image');
  });

  it('asks the second detector only when the first finds no face', async () => {
    let asked = 0;
    const secondDetector = async () => {
      asked++;
      return detector;
    };
    await run(lfwImage('Aaron_Peirsol', 1), {}, { secondDetector });
    assert.equal(asked, 0);
    const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#7a8a9a' } }).raw().toBuffer();
    const image: RawImage = { data: new Uint8Array(blank), width: 320, height: 240, channels: 3 };
    const result = await analyzeFaces(image, { embedder, detector, secondDetector }, options(1));
    assert.equal(asked, 1);
    assert.deepEqual(result.faces, []);
  });
});

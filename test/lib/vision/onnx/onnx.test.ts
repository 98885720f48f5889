import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isPorchlightError } from '../../../../lib/errors';
import { decodeImage } from '../../../../lib/image/decode';
import { fitSimilarity, mirror } from '../../../../lib/vision/align';
import { detectFaces, embedFaces } from '../../../../lib/engine/client';
import { averageDescriptors } from '../../../../lib/vision/embedder';
import { ARCFACE_TEMPLATE_112, fivePoints } from '../../../../lib/vision/onnx/align';
import { OnnxRecognizer, cosineSimilarity } from '../../../../lib/vision/onnx/recognizer';
import { ultrafaceFactory } from '../../../../lib/vision/onnx/ultraface';
import { yunetFactory } from '../../../../lib/vision/onnx/yunet';
import { WorkerPool } from '../../../../lib/workers/pool';
import { referenceModel, verifyReferenceModels } from '../../../support/onnx-models';
import { faceApiDemoDir, lfwImage, modelsDir, sharedDir } from '../../../support/paths';

const DEMO_FACE_COUNTS = [3, 3, 3, 4, 5, 4];
const demoImage = (n: number) => fs.readFileSync(path.join(faceApiDemoDir, `sample${n}.jpg`));

describe('ONNX engine: user-supplied detectors and recognizer', function () {
  this.timeout(180_000);
  let pool: WorkerPool;

  before(() => {
    verifyReferenceModels();
    pool = new WorkerPool({ threads: 1, maxQueue: 16, taskTimeoutMs: 60_000 });
  });

  after(async () => {
    await pool.close();
  });

  for (const [detector, file] of [
    ['yunet', 'yunet_s_640_640.onnx'],
    ['yunet', 'yunet_n_dynamic.onnx'],
    ['ultraface', 'ultraface_version-RFB-320.onnx'],
  ] as const) {
    it(`${detector} (${file}) finds the ${DEMO_FACE_COUNTS.join(',')} faces of face-api's demo photos at 0.6, in a worker thread`, async () => {
      for (let n = 1; n <= 6; n++) {
        const result = await detectFaces(pool, demoImage(n), {
          detector,
          detectorConfig: { modelPath: referenceModel(file) },
          options: { minConfidence: 0.6, maxFaces: 20, minFaceSize: 0 },
        });
        assert.equal(result.detector, detector, 'no fallback');
        assert.equal(result.faces.length, DEMO_FACE_COUNTS[n - 1], `sample${n}.jpg`);
        for (const face of result.faces) {
          assert.ok(face.score >= 0.6 && face.score <= 1);
          assert.ok(face.box.x >= 0 && face.box.y >= 0 && face.box.x + face.box.width <= result.width + 0.01);
          assert.ok(face.box.width > 20 && face.box.height > 20, 'boxes are in source pixels');
          if (detector === 'yunet') {
            assert.equal(face.landmarks?.length, 5);
            const [leftEye, rightEye, nose] = face.landmarks!;
            assert.ok(leftEye.x < rightEye.x, 'left eye (as seen) is left of the right eye');
            assert.ok(nose.y > leftEye.y && nose.y > rightEye.y, 'the nose is below the eyes');
            for (const p of face.landmarks!) {
              assert.ok(p.x >= face.box.x - 5 && p.x <= face.box.x + face.box.width + 5, 'landmark inside its box');
            }
          }
        }
      }
    });
  }

  it('YuNet and UltraFace agree on where the faces are', async () => {
    const options = { minConfidence: 0.6, maxFaces: 20, minFaceSize: 0 };
    const yunet = await detectFaces(pool, demoImage(5), { detector: 'yunet', detectorConfig: { modelPath: referenceModel('yunet_s_640_640.onnx') }, options });
    const ultra = await detectFaces(pool, demoImage(5), { detector: 'ultraface', detectorConfig: { modelPath: referenceModel('ultraface_version-RFB-640.onnx') }, options });
    for (const face of yunet.faces) {
      const cx = face.box.x + face.box.width / 2;
      const cy = face.box.y + face.box.height / 2;
      const near = ultra.faces.some((u) => Math.abs(u.box.x + u.box.width / 2 - cx) < face.box.width / 3 && Math.abs(u.box.y + u.box.height / 2 - cy) < face.box.height / 2);
      assert.ok(near, `UltraFace also finds the face at ${Math.round(cx)},${Math.round(cy)}`);
    }
  });

  it('embeds on the worker pool with YuNet + an ONNX recognizer: 5-point faces, unit embeddings tagged with the model', async () => {
    const request = {
      detector: 'yunet',
      detectorConfig: { modelPath: referenceModel('yunet_s_640_640.onnx') },
      recognizer: 'onnx',
      recognizerConfig: { modelPath: referenceModel('mobilefacenet_foamliu_alenchen.onnx') },
      options: { minConfidence: 0.6 },
      flip: true,
    };
    const first = await embedFaces(pool, fs.readFileSync(lfwImage('Abdullah_Gul', 13)), request);
    const same = await embedFaces(pool, fs.readFileSync(lfwImage('Abdullah_Gul', 14)), request);
    const other = await embedFaces(pool, fs.readFileSync(lfwImage('Adel_Al-Jubeir', 1)), request);
    const central = (r: typeof first) => r.faces.reduce((a, b) => (Math.abs(a.box.x + a.box.width / 2 - 125) < Math.abs(b.box.x + b.box.width / 2 - 125) ? a : b));
    for (const result of [first, same, other]) {
      const face = central(result);
      assert.equal(face.model, 'onnx:mobilefacenet_foamliu_alenchen@501048e4bff0');
      assert.equal(face.landmarks?.length, 5, 'aligned on the detector\'s own five points');
      assert.equal(face.embedding?.length, 128);
      assert.ok(Math.abs(Math.hypot(...face.embedding!) - 1) < 1e-4, 'unit length');
    }
    const sameScore = cosineSimilarity(central(first).embedding!, central(same).embedding!);
    const otherScore = cosineSimilarity(central(first).embedding!, central(other).embedding!);
    assert.ok(sameScore > otherScore + 0.2, `same person ${sameScore.toFixed(3)}, other ${otherScore.toFixed(3)}`);
  });

  describe('validation at load', () => {
    async function loadError(load: () => Promise<void>): Promise<Error> {
      try {
        await load();
      } catch (err) {
        assert.ok(isPorchlightError(err, 'MODEL_UNAVAILABLE'), `MODEL_UNAVAILABLE, got ${(err as Error).message}`);
        return err as Error;
      }
      throw new Error('load() should have failed');
    }

    it('a detector model given as the recognizer: "expects ?x3x112x112, got 1x3x240x320"', async () => {
      const err = await loadError(() => new OnnxRecognizer({ modelPath: referenceModel('ultraface_version-RFB-320.onnx') }).load());
      assert.match(err.message, /ultraface_version-RFB-320\.onnx: a recognizer expects \?x3x112x112, got 1x3x240x320/);
    });

    it('an UltraFace model given as YuNet names the missing heads', async () => {
      const detector = yunetFactory.create(yunetFactory.validateConfig({ modelPath: referenceModel('ultraface_version-RFB-320.onnx') }));
      const err = await loadError(() => detector.load());
      assert.match(err.message, /YuNet detector needs outputs .*missing cls_8, obj_8, bbox_8, kps_8, cls_16/);
      assert.match(err.message, /it has scores, boxes/);
    });

    it('a recognizer given as UltraFace, a missing file and a non-model file are refused clearly', async () => {
      const asUltra = ultrafaceFactory.create(ultrafaceFactory.validateConfig({ modelPath: referenceModel('mobilefacenet_foamliu_alenchen.onnx') }));
      assert.match((await loadError(() => asUltra.load())).message, /UltraFace detector needs outputs scores \(Nx2\) and boxes \(Nx4\), got output0 1x128/);
      const missing = yunetFactory.create(yunetFactory.validateConfig({ modelPath: '/nonexistent/yunet.onnx' }));
      assert.match((await loadError(() => missing.load())).message, /model file not found: \/nonexistent\/yunet\.onnx/);
      const notAModel = yunetFactory.create(yunetFactory.validateConfig({ modelPath: path.join(modelsDir, 'README.md') }));
      assert.match((await loadError(() => notAModel.load())).message, /README\.md is not a model onnxruntime can load/);
    });

    it('bad options are refused before anything loads', () => {
      assert.throws(() => yunetFactory.validateConfig({ inputSize: 300 }), /multiple of 32/);
      assert.throws(() => yunetFactory.validateConfig({ nmsThreshold: 2 }), /nmsThreshold/);
    });

    it('an unloadable requested model falls back to another detector and says why', async () => {
      const result = await detectFaces(pool, demoImage(1), { detector: 'yunet', detectorConfig: { modelPath: '/nonexistent/yunet.onnx' }, options: { minConfidence: 0.5 } });
      assert.equal(result.detector, 'ssd-mobilenetv1');
      assert.match(result.fallbackWarning ?? '', /detector "yunet" unavailable \(model file not found/);
    });
  });

  describe('5-point alignment and the MobileFaceNet recognizer', () => {
    const detector = yunetFactory.create(yunetFactory.validateConfig({ modelPath: referenceModel('yunet_s_640_640.onnx') }));
    const recognizer = new OnnxRecognizer({ modelPath: referenceModel('mobilefacenet_foamliu_alenchen.onnx') });

    before(async () => {
      await detector.load();
      await recognizer.load();
    });

    /** The central face of an LFW image, aligned, embedded with flip averaging. */
    async function embedLfw(file: string): Promise<Float32Array> {
      const { image } = await decodeImage(fs.readFileSync(file), { maxSide: detector.preferredMaxSide });
      const faces = await detector.detect(image, { minConfidence: 0.6, maxFaces: 5, minFaceSize: 0, landmarks: true });
      assert.ok(faces.length > 0, `a face in ${path.basename(file)}`);
      const offCentre = (f: (typeof faces)[number]) => Math.hypot(f.box.x + f.box.width / 2 - image.width / 2, f.box.y + f.box.height / 2 - image.height / 2);
      const face = faces.reduce((best, f) => (offCentre(f) < offCentre(best) ? f : best));
      const chip = recognizer.align(image, face.landmarks!);
      const [plain, mirrored] = await recognizer.embed([chip, mirror(chip)]);
      return averageDescriptors(plain, mirrored);
    }

    it('aligns the five points onto the ArcFace template', async () => {
      const { image } = await decodeImage(fs.readFileSync(lfwImage('Aaron_Peirsol', 1)), { maxSide: 640 });
      const [face] = await detector.detect(image, { minConfidence: 0.6, maxFaces: 1, minFaceSize: 0, landmarks: true });
      // Map the template into the image: a face fits it up to its own shape, a few chip pixels per point.
      const chipToImage = fitSimilarity(ARCFACE_TEMPLATE_112, fivePoints(face.landmarks!));
      const scale = Math.hypot(chipToImage.a, chipToImage.b);
      const offsets = ARCFACE_TEMPLATE_112.map((t, i) => {
        const x = chipToImage.a * t.x - chipToImage.b * t.y + chipToImage.tx;
        const y = chipToImage.b * t.x + chipToImage.a * t.y + chipToImage.ty;
        return Math.hypot(x - face.landmarks![i].x, y - face.landmarks![i].y) / scale;
      });
      assert.ok(Math.max(...offsets) < 5 && offsets.reduce((s, o) => s + o, 0) / 5 < 2.5, `offsets ${offsets.map((o) => o.toFixed(1))}`);
      // A face about 100 px across in a 250 px LFW image: roughly one image pixel per chip pixel.
      assert.ok(scale > 0.6 && scale < 1.6, `scale ${scale}`);
      const chip = recognizer.align(image, face.landmarks!);
      assert.deepEqual([chip.width, chip.height, chip.channels], [112, 112, 3]);
    });

    it('tags embeddings with the model file and its checksum', () => {
      assert.equal(recognizer.model, 'onnx:mobilefacenet_foamliu_alenchen@501048e4bff0');
      assert.equal(recognizer.dimensions, 128);
    });

    it('separates genuine and impostor LFW pairs (pairsDevTest, every 10th pair)', async () => {
      const lines = fs.readFileSync(path.join(sharedDir, 'datasets', 'lfw', 'pairsDevTest.txt'), 'utf8').trim().split('\n').slice(1);
      const genuine: number[] = [];
      const impostor: number[] = [];
      for (const line of lines.filter((_, i) => i % 10 === 0)) {
        const f = line.split('\t');
        const same = f.length === 3;
        const [a, b] = same ? [lfwImage(f[0], +f[1]), lfwImage(f[0], +f[2])] : [lfwImage(f[0], +f[1]), lfwImage(f[2], +f[3])];
        const similarity = cosineSimilarity(await embedLfw(a), await embedLfw(b));
        (same ? genuine : impostor).push(similarity);
      }
      assert.equal(genuine.length + impostor.length, 100);
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
      assert.ok(mean(genuine) - mean(impostor) > 0.4, `means ${mean(genuine).toFixed(3)} vs ${mean(impostor).toFixed(3)}`);
      // The best single threshold on these 100 pairs.
      const accuracy = Math.max(
        ...[...genuine, ...impostor].map((t) => (genuine.filter((s) => s >= t).length + impostor.filter((s) => s < t).length) / 100),
      );
      assert.ok(accuracy >= 0.97, `accuracy ${accuracy}`);
    });
  });
});

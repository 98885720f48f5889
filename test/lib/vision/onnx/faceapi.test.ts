import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../../../lib/image/decode';
import { detectFaces, embedFaces } from '../../../../lib/engine/client';
import { createDefaultRegistry } from '../../../../lib/vision/detectors';
import { ensureLandmarkGraph } from '../../../../lib/vision/onnx/faceapi/landmarks';
import { ensureResNetGraph } from '../../../../lib/vision/onnx/faceapi/resnet';
import { ensureSsdGraph } from '../../../../lib/vision/onnx/faceapi/ssd';
import { cosineSimilarity } from '../../../../lib/vision/onnx/recognizer';
import { iou } from '../../../../lib/image/box';
import { faceApiModelDir } from '../../../../lib/vision/tfjs/faceapi-runtime';
import { WorkerPool } from '../../../../lib/workers/pool';
import { lfwDir, lfwPeople } from '../../../support/paths';
import { tempDir } from '../../../support/temp';

/** 50 LFW images: the first image of every 40th person, a spread of faces, lighting and pose. */
function lfwSample(count: number): string[] {
  return lfwPeople()
    .filter((_, i) => i % 40 === 0)
    .slice(0, count)
    .map((person) => path.join(lfwDir, person, fs.readdirSync(path.join(lfwDir, person)).sort()[0]));
}

describe("face-api's detector, landmark and descriptor nets as ONNX graphs built from its weights", function () {
  this.timeout(300_000);
  let pool: WorkerPool;
  let cacheDir: string;

  before(() => {
    pool = new WorkerPool({ threads: 1, maxQueue: 8 });
    cacheDir = tempDir('porchlight-built-');
  });
  after(async () => {
    await pool.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('caches the graph under the checksum of the source weights and reuses it', () => {
    const manifest = fs.readFileSync(path.join(faceApiModelDir(), 'face_recognition_model-weights_manifest.json'));
    const bin = fs.readFileSync(path.join(faceApiModelDir(), 'face_recognition_model.bin'));
    const sha = createHash('sha256').update(manifest).update(bin).digest('hex');
    const file = ensureResNetGraph(cacheDir);
    assert.equal(path.basename(file), `faceapi-resnet128-g1-${sha.slice(0, 16)}.onnx`);
    const built = fs.statSync(file);
    assert.ok(built.size > bin.length * 3, 'dequantized float32 weights');
    assert.equal(ensureResNetGraph(cacheDir), file);
    assert.equal(fs.statSync(file).mtimeMs, built.mtimeMs, 'not rebuilt');
    assert.deepEqual(fs.readdirSync(cacheDir).sort(), [path.basename(file), `${path.basename(file)}.sha256`], 'the graph and its checksum, no partial files left');
    assert.match(path.basename(ensureLandmarkGraph(cacheDir)), /^faceapi-landmarks68-g1-[0-9a-f]{16}\.onnx$/);
    assert.match(path.basename(ensureSsdGraph(cacheDir)), /^faceapi-ssd-mobilenetv1-g1-[0-9a-f]{16}\.onnx$/);
  });

  it('rebuilds a cached graph that was cut short or altered, and the detector runs on ONNX, not on its fallback', async () => {
    const file = ensureSsdGraph(cacheDir);
    const good = fs.readFileSync(file);
    const photo = fs.readFileSync(lfwSample(1)[0]);
    // Cut to a third (a full disk while it was copied) and altered in the middle (same size): each time in a fresh thread.
    const damage: Array<[string, () => void]> = [
      ['truncated', () => fs.truncateSync(file, Math.floor(good.length / 3))],
      ['altered', () => fs.writeFileSync(file, Buffer.concat([good.subarray(0, good.length >> 1), Buffer.alloc(4096, 0x55), good.subarray((good.length >> 1) + 4096)]))],
    ];
    for (const [how, damageIt] of damage) {
      damageIt();
      const fresh = new WorkerPool({ threads: 1, maxQueue: 2 });
      try {
        const result = await detectFaces(fresh, photo, { detector: 'ssd-mobilenetv1-onnx', detectorConfig: { cacheDir } });
        assert.equal(result.detector, 'ssd-mobilenetv1-onnx', `${how}: ${result.fallbackWarning}`);
        assert.equal(result.fallbackWarning, undefined, how);
        assert.equal(result.faces.length, 1, how);
        assert.ok(fs.readFileSync(file).equals(good), `${how}: rebuilt byte for byte`);
      } finally {
        await fresh.close();
      }
    }
  });

  it('matches the tfjs pipeline on 50 LFW images: same faces (IoU >= 0.95), landmarks within 1 px, descriptors cosine >= 0.9999 and within 1e-3, same model id', async () => {
    const images = lfwSample(50);
    assert.equal(images.length, 50);
    const worst = { iou: 1, px: 0, cosine: 1, diff: 0 };
    let compared = 0;
    for (const file of images) {
      const bytes = fs.readFileSync(file);
      const tfjs = await embedFaces(pool, bytes, { flip: false, options: { maxFaces: 3 } });
      // Detector, landmark net and descriptor all as our ONNX graphs.
      const onnx = await embedFaces(pool, bytes, {
        flip: false,
        options: { maxFaces: 3 },
        detector: 'ssd-mobilenetv1-onnx',
        detectorConfig: { cacheDir },
        recognizer: 'faceapi-resnet128-onnx',
        recognizerConfig: { cacheDir },
      });
      assert.equal(onnx.detector, 'ssd-mobilenetv1-onnx');
      assert.equal(onnx.faces.length, tfjs.faces.length, path.basename(file));
      for (const face of tfjs.faces) {
        const other = onnx.faces.reduce((best, f) => (iou(f.box, face.box) > iou(best.box, face.box) ? f : best));
        assert.equal(other.model, 'faceapi-resnet128');
        worst.iou = Math.min(worst.iou, iou(other.box, face.box));
        face.landmarks!.forEach((p, k) => (worst.px = Math.max(worst.px, Math.hypot(p.x - other.landmarks![k].x, p.y - other.landmarks![k].y))));
        worst.cosine = Math.min(worst.cosine, cosineSimilarity(face.embedding!, other.embedding!));
        for (let k = 0; k < 128; k++) worst.diff = Math.max(worst.diff, Math.abs(face.embedding![k] - other.embedding![k]));
        compared++;
      }
    }
    assert.ok(compared >= 45, `${compared} faces compared`);
    assert.ok(worst.iou >= 0.95, `worst IoU ${worst.iou}`);
    assert.ok(worst.px <= 1, `worst landmark offset ${worst.px} px`);
    assert.ok(worst.cosine >= 0.9999, `worst cosine ${worst.cosine}`);
    assert.ok(worst.diff <= 1e-3, `worst abs difference ${worst.diff}`);
  });

  it('finds the same faces as tfjs in tight close-ups (the padded re-search)', async () => {
    const registry = createDefaultRegistry();
    const tfjs = (await registry.create('ssd-mobilenetv1', {}, { fallback: false })).detector;
    const onnx = (await registry.create('ssd-mobilenetv1-onnx', { cacheDir }, { fallback: false })).detector;
    const options = { minConfidence: 0.5, maxFaces: 5, minFaceSize: 0, landmarks: true };
    let found = 0;
    for (const file of lfwSample(50).filter((_, i) => i % 5 === 0)) {
      // The face cropped tight and blown up: it runs off the frame, which a plain SSD pass often misses.
      const closeUp = await sharp(file).extract({ left: 80, top: 75, width: 90, height: 100 }).resize(270, 300).jpeg().toBuffer();
      const { image } = await decodeImage(closeUp);
      const [expected, actual] = [await tfjs.detect(image, options), await onnx.detect(image, options)];
      assert.equal(actual.length, expected.length, path.basename(file));
      expected.forEach((face, i) => assert.ok(iou(face.box, actual[i].box) >= 0.95, `${path.basename(file)} IoU ${iou(face.box, actual[i].box)}`));
      found += expected.length;
    }
    assert.ok(found >= 5, `${found} close-ups with a face`);
  });
});

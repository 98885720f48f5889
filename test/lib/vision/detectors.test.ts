import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { isPorchlightError, PorchlightError } from '../../../lib/errors';
import type { Box } from '../../../lib/image/types';
import { detectFaces, type DetectRequest } from '../../../lib/engine/client';
import { createDefaultRegistry } from '../../../lib/vision/detectors';
import { DetectorRegistry } from '../../../lib/vision/registry';
import { ssdMobilenetV1Factory } from '../../../lib/vision/tfjs/faceapi-detectors';
import type { DetectorFactory } from '../../../lib/vision/types';
import { WorkerPool } from '../../../lib/workers/pool';
import type { DetectTaskResult } from '../../../lib/workers/tasks';
import {
  cmykJpeg,
  DEMO_FACE_COUNTS,
  demoPhoto,
  exifRotatedJpeg,
  grayscaleJpeg,
  onePixelPng,
  png16,
  pngWithAlpha,
} from '../../support/images';
import { lfwDir, lfwPeople } from '../../support/paths';

const SSD: DetectRequest = { detector: 'ssd-mobilenetv1', options: { landmarks: false } };

function contains(box: Box, x: number, y: number): boolean {
  return box.x <= x && x <= box.x + box.width && box.y <= y && y <= box.y + box.height;
}

function intersectionOverUnion(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const overlap = w * h;
  return overlap / (a.width * a.height + b.width * b.height - overlap);
}

/** Each expected box's best overlap among the found ones. */
function bestOverlaps(expected: Box[], found: Box[]): number[] {
  return expected.map((box) => Math.max(0, ...found.map((other) => intersectionOverUnion(box, other))));
}

/** 100 LFW people spread evenly over the alphabetical list, the first photo of each. */
function lfwSelection(): string[] {
  const people = lfwPeople();
  const step = Math.floor(people.length / 100);
  return Array.from({ length: 100 }, (_, i) => {
    const person = people[i * step];
    const first = fs.readdirSync(path.join(lfwDir, person)).sort()[0];
    return path.join(lfwDir, person, first);
  });
}

describe('face detection in the worker pool (real face-api models)', function () {
  this.timeout(180_000);

  let pool: WorkerPool;
  let upright: DetectTaskResult;
  before(async () => {
    pool = new WorkerPool({ threads: 1, maxQueue: 200 });
    upright = await detectFaces(pool, demoPhoto(1), SSD);
  });
  after(() => pool.close());

  it('SSD finds the 3, 3, 3, 4, 5, 4 faces of the six demo group photos, in source pixels', async () => {
    const counts: number[] = [];
    for (let n = 1; n <= 6; n++) {
      const result = await detectFaces(pool, demoPhoto(n), { detector: 'ssd-mobilenetv1' });
      counts.push(result.faces.length);
      assert.equal(result.detector, 'ssd-mobilenetv1');
      assert.equal(result.width, 1920, 'sizes are those of the source, not of the shrunk copy');
      for (const face of result.faces) {
        assert.ok(face.box.x >= 0 && face.box.y >= 0 && face.box.x + face.box.width <= result.width && face.box.y + face.box.height <= result.height);
        assert.equal(face.landmarks?.length, 68);
        assert.ok(face.landmarks!.every((p) => contains({ x: face.box.x - face.box.width, y: face.box.y - face.box.height, width: face.box.width * 3, height: face.box.height * 3 }, p.x, p.y)));
      }
      assert.deepEqual(result.faces.map((f) => f.score), [...result.faces.map((f) => f.score)].sort((a, b) => b - a), 'best first');
    }
    assert.deepEqual(counts, DEMO_FACE_COUNTS);
  });

  it('on 100 LFW photos, exactly one face covers the image centre (close-ups included)', async () => {
    const misses: string[] = [];
    const results = await Promise.all(lfwSelection().map((file) => detectFaces(pool, fs.readFileSync(file), SSD).then((r) => ({ file, r }))));
    for (const { file, r } of results) {
      const central = r.faces.filter((f) => contains(f.box, r.width / 2, r.height / 2));
      if (central.length !== 1) misses.push(`${path.basename(file)}: ${r.faces.length} face(s), ${central.length} on the centre`);
    }
    assert.deepEqual(misses, []);
  });

  // The middle of an LFW photo blown up 3x: the face runs off the frame, as when a visitor leans into a doorbell camera.
  // The tighter one is found only by the second, wider border.
  for (const [label, crop] of [
    ['a close-up', { left: 75, top: 70, width: 100, height: 110 }],
    ['a tighter close-up', { left: 85, top: 80, width: 80, height: 90 }],
  ] as const) {
    it(`re-searches ${label} that a single pass misses`, async () => {
      const [width, height] = [crop.width * 3, crop.height * 3];
      const closeUp = await sharp(fs.readFileSync(lfwSelection()[0])).extract(crop).resize(width, height).jpeg().toBuffer();
      const withoutRetry = await detectFaces(pool, closeUp, { ...SSD, detectorConfig: { closeUpRetry: false } });
      assert.equal(withoutRetry.faces.length, 0, 'a single SSD pass misses it');
      const withRetry = await detectFaces(pool, closeUp, SSD);
      assert.equal(withRetry.faces.length, 1);
      const [face] = withRetry.faces;
      assert.ok(contains(face.box, width / 2, height / 2), 'the face is on the centre');
      assert.ok(face.box.width * face.box.height > 0.3 * width * height, 'and fills much of the frame');
    });
  }

  describe('odd images give the same faces as the plain photo', () => {
    const variants: Array<[string, () => Promise<Buffer>]> = [
      ['PNG with alpha', () => pngWithAlpha()],
      ['grayscale JPEG', () => grayscaleJpeg()],
      ['CMYK JPEG', () => cmykJpeg()],
      ['16-bit PNG', () => png16()],
    ];
    for (const [label, make] of variants) {
      it(label, async () => {
        const result = await detectFaces(pool, await make(), SSD);
        assert.equal(result.faces.length, 3);
        assert.ok(bestOverlaps(upright.faces.map((f) => f.box), result.faces.map((f) => f.box)).every((iou) => iou > 0.8));
      });
    }

    for (const orientation of [3, 6, 8] as const) {
      it(`EXIF orientation ${orientation}: boxes are in the upright frame`, async () => {
        const result = await detectFaces(pool, await exifRotatedJpeg(orientation), SSD);
        assert.deepEqual([result.width, result.height], [1920, 1280]);
        assert.equal(result.faces.length, 3);
        const overlaps = bestOverlaps(upright.faces.map((f) => f.box), result.faces.map((f) => f.box));
        assert.ok(overlaps.every((iou) => iou > 0.8), `overlaps with the upright boxes: ${overlaps.map((v) => v.toFixed(2))}`);
      });
    }

    it('raw RGBA pixels on msg.payload', async () => {
      const { data, info } = await sharp(demoPhoto(1)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const result = await detectFaces(pool, { data, width: info.width, height: info.height, channels: 4 }, SSD);
      assert.equal(result.faces.length, 3);
      assert.ok(bestOverlaps(upright.faces.map((f) => f.box), result.faces.map((f) => f.box)).every((iou) => iou > 0.8));
    });

    it('a 1x1 image: no face, no error', async () => {
      const result = await detectFaces(pool, await onePixelPng(), SSD);
      assert.deepEqual([result.faces.length, result.width, result.height], [0, 1, 1]);
    });
  });

  it('honours minimum face size, maximum faces and crops', async () => {
    const smallest = Math.min(...upright.faces.map((f) => Math.min(f.box.width, f.box.height)));
    const bigOnly = await detectFaces(pool, demoPhoto(1), { ...SSD, options: { landmarks: false, minFaceSize: smallest + 1 } });
    assert.equal(bigOnly.faces.length, 2);
    const best = await detectFaces(pool, demoPhoto(1), { ...SSD, options: { landmarks: false, maxFaces: 1 }, cropSize: 96 });
    assert.equal(best.faces.length, 1);
    assert.equal(best.faces[0].score, upright.faces[0].score);
    const crop = await sharp(best.faces[0].crop!).metadata();
    assert.equal(crop.format, 'jpeg');
    assert.equal(Math.max(crop.width!, crop.height!), 96);
  });

  it('the Tiny Face Detector runs too', async () => {
    const result = await detectFaces(pool, demoPhoto(1), { detector: 'tiny-face-detector', options: { landmarks: false } });
    assert.equal(result.detector, 'tiny-face-detector');
    assert.equal(result.faces.length, 3);
    // Its boxes are wider than SSD's: compare where the faces are, not the box shapes.
    for (const { box } of upright.faces) {
      assert.equal(result.faces.filter((f) => contains(f.box, box.x + box.width / 2, box.y + box.height / 2)).length, 1);
    }
  });

  it('refuses an unknown detector and a bad detector config, by name', async () => {
    await assert.rejects(detectFaces(pool, demoPhoto(1), { detector: 'haar' }), (err) => isPorchlightError(err, 'UNKNOWN_DETECTOR') && /unknown detector "haar"; available: ssd-mobilenetv1, tiny-face-detector/.test(err.message));
    await assert.rejects(detectFaces(pool, demoPhoto(1), { detector: 'tiny-face-detector', detectorConfig: { inputSize: 100 } }), /inputSize must be one of 128, 160/);
  });
});

describe('detector registry fallback', function () {
  this.timeout(60_000);

  it('a detector that cannot load falls back to one that does, and says why', async () => {
    // Stands for a detector whose model files are missing on this machine.
    const missingModel: DetectorFactory = {
      name: 'missing-model',
      backend: 'onnx',
      description: 'a detector whose model is not installed',
      validateConfig: (config) => config,
      create: () => ({
        name: 'missing-model',
        backend: 'onnx',
        preferredMaxSide: 640,
        load: () => Promise.reject(new PorchlightError('MODEL_UNAVAILABLE', 'model file not found')),
        detect: () => Promise.reject(new Error('not loaded')),
        dispose: () => undefined,
      }),
    };
    const registry = new DetectorRegistry();
    registry.register(ssdMobilenetV1Factory);
    registry.register(missingModel);
    const created = await registry.create('missing-model');
    assert.equal(created.detector.name, 'ssd-mobilenetv1');
    assert.equal(created.fallbackFrom, 'missing-model');
    assert.match(created.warning!, /detector "missing-model" unavailable \(model file not found\); using "ssd-mobilenetv1"/);
    await assert.rejects(registry.create('missing-model', {}, { fallback: false }), /model file not found/);
  });

  it('lists every detector the workers can create', () => {
    const names = createDefaultRegistry().list().map((d) => d.name);
    assert.ok(names.includes('ssd-mobilenetv1') && names.includes('tiny-face-detector'));
  });
});

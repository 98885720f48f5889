import assert from 'node:assert/strict';
import { detectFaces } from '../../../lib/engine/client';
import { detectedWords, detectionMessage, shortDetectorLabel, warmUpImage, warmUpWords } from '../../../lib/engine/detection';
import { WorkerPool } from '../../../lib/workers/pool';
import type { DetectTaskResult } from '../../../lib/workers/tasks';
import { demoPhoto } from '../../support/images';

describe('engine: what face-detect makes of a detection (real face-api models)', function () {
  this.timeout(180_000);
  let pool: WorkerPool;
  let withCrops: DetectTaskResult;
  let empty: DetectTaskResult;

  before(async () => {
    pool = new WorkerPool({ threads: 1, maxQueue: 20 });
    withCrops = await detectFaces(pool, demoPhoto(1), { detector: 'ssd-mobilenetv1', cropSize: 112 });
    empty = await detectFaces(pool, warmUpImage(), { detector: 'ssd-mobilenetv1' });
  });
  after(() => pool.close());

  it('msg.faces: box, score and landmarks of each face, its crop a JPEG Buffer', () => {
    const { faces } = detectionMessage(withCrops, 500);
    assert.equal(faces.length, 3);
    for (const [i, face] of faces.entries()) {
      assert.deepEqual(Object.keys(face), ['box', 'score', 'landmarks', 'crop']);
      assert.deepEqual(face.box, withCrops.faces[i].box);
      assert.equal(face.landmarks?.length, 68);
      assert.ok(Buffer.isBuffer(face.crop));
      assert.deepEqual([...face.crop!.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
    }
    const bare = detectionMessage({ ...withCrops, faces: withCrops.faces.map(({ crop: _crop, ...face }) => face) }, 500);
    assert.ok(bare.faces.every((face) => !('crop' in face)), 'no crop asked for: no crop field');
  });

  it('msg.detection: the detector, the size, the timings, and the wait outside the worker', () => {
    const { detection } = detectionMessage(withCrops, withCrops.timings.totalMs + 40);
    assert.equal(detection.detector, 'ssd-mobilenetv1');
    assert.deepEqual([detection.width, detection.height], [1920, withCrops.height]);
    assert.equal(detection.latencyMs, withCrops.timings.totalMs + 40);
    assert.ok(Math.abs(detection.waitMs - 40) < 1e-9);
    assert.equal(detectionMessage(withCrops, 0).detection.waitMs, 0, 'never negative');
  });

  it('the status after a frame: faces, latency and the queue; the fallback when one stood in', () => {
    assert.deepEqual(detectedWords(withCrops, 141.6, 0), { tone: 'ready', text: '3 faces · 142 ms' });
    assert.deepEqual(detectedWords(empty, 80, 2), { tone: 'ready', text: '0 faces · 80 ms · queue 2' });
    assert.deepEqual(detectedWords({ ...withCrops, faces: withCrops.faces.slice(0, 1) }, 80, 0).text, '1 face · 80 ms');
    const fallback = detectedWords({ ...withCrops, detector: 'tiny-face-detector', fallbackWarning: 'yunet.onnx missing' }, 80, 0);
    assert.deepEqual(fallback, { tone: 'warn', text: 'fallback: tiny-face-detector', detail: 'face-detect fallback: yunet.onnx missing' });
  });

  it('the status after the warm-up: ready with the pipeline, or the engine\'s own fallback', () => {
    assert.deepEqual(warmUpWords(empty, { detector: 'ssd-mobilenetv1', detectorConfig: {} }), { tone: 'ready', text: 'ready (ssd-mobilenetv1)', detail: undefined });
    const label = 'face-api SSD MobileNet + ResNet-128 (onnxruntime)';
    assert.deepEqual(warmUpWords(empty, { detector: 'ssd-mobilenetv1', detectorConfig: {}, label }), { tone: 'ready', text: 'ready (face-api SSD MobileNet)', detail: `face-detect ready: ${label}` });
    assert.deepEqual(warmUpWords(empty, { detector: 'ssd-mobilenetv1', detectorConfig: {}, label, fallback: 'the YuNet model is missing' }), {
      tone: 'warn',
      text: 'fallback: face-api SSD MobileNet',
      detail: `face-detect fallback: ${label}, because the YuNet model is missing`,
    });
  });

  it('a long pipeline label keeps its detector when there is no room for both', () => {
    assert.equal(shortDetectorLabel('YuNet + SFace (onnxruntime)', 24), 'YuNet + SFace');
    assert.equal(shortDetectorLabel('face-api SSD MobileNet + ResNet-128 (onnxruntime)', 40), 'face-api SSD MobileNet + ResNet-128');
    assert.equal(shortDetectorLabel('face-api SSD MobileNet + ResNet-128 (onnxruntime)', 22), 'face-api SSD MobileNet');
  });
});

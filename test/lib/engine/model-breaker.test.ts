import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sinon from 'sinon';
import { isPorchlightError } from '../../../lib/errors';
import { problemInWords } from '../../../lib/eventlog/in-words';
import { MODEL_BREAKER, isBackendFailure, modelBreakers } from '../../../lib/engine/model-breaker';
import { metricsText } from '../../../lib/metrics';
import { healthReport } from '../../../lib/metrics/health';
import { trackedBreakers } from '../../../lib/process/circuit-breaker';
import { PorchlightError } from '../../../lib/errors';
import { detectFaces, embedFaces, type EmbedRequest } from '../../../lib/engine/client';
import { WorkerPool } from '../../../lib/workers/pool';
import { demoPhoto, truncatedJpeg } from '../../support/images';
import { referenceModel, verifyReferenceModels } from '../../support/onnx-models';
import { tempDir } from '../../support/temp';

const DETECTOR = 'yunet_s_640_640.onnx';
const RECOGNIZER = 'mobilefacenet_foamliu_alenchen.onnx';
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('circuit breaker around the model backend (real onnxruntime on a worker pool, fake clock)', function () {
  this.timeout(180_000);
  let dir: string;
  let pool: WorkerPool | undefined;

  before(() => verifyReferenceModels());
  beforeEach(() => {
    // Temp copies, broken here and never in ../shared or the repo.
    dir = tempDir('porchlight-model-breaker-');
  });
  afterEach(async () => {
    sinon.restore();
    await pool?.close();
    pool = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('defaults, and what counts: the backend\'s failures, not a bad picture, a full queue or a closed pool', () => {
    assert.deepEqual(MODEL_BREAKER, { failures: 5, windowMs: 60_000, coolOffMs: 60_000 });
    for (const code of ['MODEL_UNAVAILABLE', 'INTERNAL', 'TASK_TIMEOUT', 'WORKER_CRASHED'] as const) assert.equal(isBackendFailure(new PorchlightError(code, 'x')), true, code);
    for (const code of ['CORRUPT_IMAGE', 'BAD_INPUT', 'NOT_AN_IMAGE', 'IMAGE_TOO_LARGE', 'QUEUE_FULL', 'DROPPED', 'POOL_CLOSED', 'UNKNOWN_DETECTOR', 'CIRCUIT_OPEN'] as const) {
      assert.equal(isBackendFailure(new PorchlightError(code, 'x')), false, code);
    }
  });

  it('a recognizer that fails to load at every task: opens after 3, no task reaches the pool in the cool-off (clear CIRCUIT_OPEN), a failed trial reopens it, a good one closes it', async () => {
    const clock = sinon.useFakeTimers({ now: 40_000_000, toFake: ['Date'] });
    const recognizer = path.join(dir, RECOGNIZER);
    fs.writeFileSync(recognizer, fs.readFileSync(referenceModel(RECOGNIZER)).subarray(0, 100_000)); // a download cut short
    const p = (pool = new WorkerPool({ threads: 1 }));
    modelBreakers(p, { failures: 3, windowMs: 10_000, coolOffMs: 30_000 });
    const request: EmbedRequest = { detector: 'yunet', detectorConfig: { modelPath: referenceModel(DETECTOR) }, recognizer: 'onnx', recognizerConfig: { modelPath: recognizer }, flip: false };
    const stage = `model ${DETECTOR} + ${RECOGNIZER}`;
    const breaker = () => modelBreakers(p).breaker(stage)!;
    const ran = () => p.stats().completed + p.stats().failed;

    // Bad pictures do not count, though they reach the (broken) pipeline.
    await assert.rejects(embedFaces(p, 'not an image', request), (err) => isPorchlightError(err, 'BAD_INPUT'));
    await assert.rejects(embedFaces(p, truncatedJpeg(), request), (err) => isPorchlightError(err, 'CORRUPT_IMAGE'));
    await assert.rejects(embedFaces(p, Buffer.from('GIF89a, but no more'), request), (err) => isPorchlightError(err) && !isBackendFailure(err));
    assert.equal(breaker().state, 'closed');
    assert.equal(breaker().stats().recentFailures, 0);

    for (let i = 0; i < 3; i++) {
      assert.equal(breaker().state, 'closed');
      await assert.rejects(embedFaces(p, demoPhoto(1), request), (err) => isPorchlightError(err, 'MODEL_UNAVAILABLE') && err.message.includes(RECOGNIZER));
      clock.tick(1_000);
    }
    assert.equal(breaker().state, 'open');
    const health = (await healthReport()).components[`circuit:${stage}`];
    assert.equal(health.ok, false);
    assert.match(await metricsText(), new RegExp(`^porchlight_circuit_state\\{breaker="${escape(stage)}"\\} 2$`, 'm'));

    // The cool-off: refused at once, with the reason; nothing reaches the pool.
    const before = ran();
    for (let s = 0; s < 28; s += 7) {
      await assert.rejects(embedFaces(p, demoPhoto(1), request), (err) => {
        assert.ok(isPorchlightError(err, 'CIRCUIT_OPEN'), String(err));
        assert.match(err.message, new RegExp(`^${escape(stage)}: circuit open after 3 failures within 10 s \\(last: .*${escape(RECOGNIZER)}.*\\); next try in ${29 - s} s$`));
        assert.equal(problemInWords(err.message), 'Face recognition is paused for a moment after failing several times in a row.');
        return true;
      });
      clock.tick(7_000);
    }
    assert.equal(ran(), before, 'a task reached the pool during the cool-off');
    assert.equal(breaker().stats().rejected, 4);

    // The trial, still broken: one task, opened again for a full cool-off.
    clock.tick(1_000);
    await assert.rejects(embedFaces(p, demoPhoto(1), request), (err) => isPorchlightError(err, 'MODEL_UNAVAILABLE'));
    assert.equal(ran(), before + 1);
    assert.equal(breaker().state, 'open');
    assert.equal(breaker().stats().opened, 2);
    assert.equal(breaker().retryInMs(), 30_000);
    clock.tick(29_000);
    await assert.rejects(embedFaces(p, demoPhoto(1), request), (err) => isPorchlightError(err, 'CIRCUIT_OPEN'));
    assert.equal(ran(), before + 1);

    // The model file is whole again: the next trial embeds and closes it.
    fs.copyFileSync(referenceModel(RECOGNIZER), recognizer);
    clock.tick(1_000);
    const result = await embedFaces(p, demoPhoto(1), request);
    assert.ok(result.faces.length > 0 && result.faces.every((face) => face.embedding), 'no embeddings after the trial');
    assert.equal(breaker().state, 'closed');
    assert.match(await metricsText(), new RegExp(`^porchlight_circuit_state\\{breaker="${escape(stage)}"\\} 0$`, 'm'));
    assert.ok((await embedFaces(p, demoPhoto(2), request)).faces.length > 0);

    await p.close();
    assert.ok(!trackedBreakers().includes(breaker()), 'a closed pool\'s breakers are still listed');
  });

  it('a detector that throws at inference: after 3 failures detection falls back to face-api\'s SSD on ONNX saying why, then the trial closes it', async () => {
    const clock = sinon.useFakeTimers({ now: 50_000_000, toFake: ['Date'] });
    const failing = path.join(dir, 'backend-failing');
    fs.writeFileSync(failing, '');
    const p = (pool = new WorkerPool({ threads: 1, workerFile: path.join(__dirname, '..', '..', 'support', 'failing-worker.js') }));
    modelBreakers(p, { failures: 3, windowMs: 10_000, coolOffMs: 30_000 });
    const request = { detector: 'yunet', detectorConfig: { modelPath: referenceModel(DETECTOR), failWhile: failing } };
    const breaker = () => modelBreakers(p).breaker(`model ${DETECTOR}`)!;

    for (let i = 0; i < 3; i++) await assert.rejects(detectFaces(p, demoPhoto(1), request), (err) => isPorchlightError(err, 'INTERNAL'));
    assert.equal(breaker().state, 'open');
    const failed = p.stats().failed;

    const fallback = await detectFaces(p, demoPhoto(1), request);
    assert.equal(fallback.detector, 'ssd-mobilenetv1-onnx');
    assert.equal(fallback.faces.length, 3, 'sample1 has 3 faces');
    assert.match(fallback.fallbackWarning ?? '', new RegExp(`^face-api SSD MobileNet \\(onnxruntime\\) meanwhile: model ${escape(DETECTOR)}: circuit open after 3 failures within 10 s \\(last: Non-zero status code .*\\); next try in 30 s$`));
    assert.equal(p.stats().failed, failed, 'the paused detector was tried');

    // A failed trial: that frame fails (the trial is the real detector), the next falls back again.
    clock.tick(30_000);
    await assert.rejects(detectFaces(p, demoPhoto(1), request), (err) => isPorchlightError(err, 'INTERNAL'));
    assert.equal(breaker().state, 'open');
    assert.equal((await detectFaces(p, demoPhoto(1), request)).detector, 'ssd-mobilenetv1-onnx');

    // The backend works again: the trial runs YuNet and closes the breaker.
    fs.rmSync(failing);
    clock.tick(30_000);
    const back = await detectFaces(p, demoPhoto(1), request);
    assert.equal(back.detector, 'yunet');
    assert.equal(back.fallbackWarning, undefined);
    assert.equal(breaker().state, 'closed');
  });

  it('breakers turned off (`false`): every task goes to the backend', async () => {
    const p = (pool = new WorkerPool({ threads: 1 }));
    assert.equal(modelBreakers(p, false).breaker('model x'), undefined);
    const missing = path.join(dir, 'missing.onnx');
    for (let i = 0; i < 6; i++) {
      await assert.rejects(embedFaces(p, demoPhoto(1), { detector: 'yunet', detectorConfig: { modelPath: referenceModel(DETECTOR) }, recognizer: 'onnx', recognizerConfig: { modelPath: missing } }), (err) => isPorchlightError(err, 'MODEL_UNAVAILABLE'));
    }
    assert.equal(p.stats().failed, 6);
  });
});

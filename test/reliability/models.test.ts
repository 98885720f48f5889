import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { healthReport } from '../../lib/metrics/health';
import { DetectorRegistry } from '../../lib/vision/registry';
import { yunetFactory } from '../../lib/vision/onnx/yunet';
import { ssdMobilenetV1Factory } from '../../lib/vision/tfjs/faceapi-detectors';
import { demoPhoto } from '../support/images';
import { helper, nextMessage } from '../support/node-red';
import { referenceModel, verifyReferenceModels } from '../support/onnx-models';
import { nodeFile } from '../support/paths';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

const DETECTOR = 'yunet_s_640_640.onnx';
const RECOGNIZER = 'mobilefacenet_foamliu_alenchen.onnx';

/** Keeps the first half of a model file: a download cut off midway. */
function truncate(file: string): void {
  fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
}

describe('reliability: a model file missing or corrupt', function () {
  this.timeout(180_000);
  let dir: string;

  before(() => verifyReferenceModels());
  beforeEach(() => {
    // Temp copies of the reference models, broken here and never in ../shared or the repo.
    dir = tempDir('porchlight-models-');
    for (const name of [DETECTOR, RECOGNIZER]) fs.copyFileSync(referenceModel(name), path.join(dir, name));
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The engine (auto) on the temp copies with face-detect following it;
   * resolves with face-detect's statuses once it is warm, the engine's
   * health and a real photo's detection.
   */
  async function detectWithBrokenModels() {
    await helper.load([require(nodeFile('porchlight-engine')), require(nodeFile('face-detect'))], [
      { id: 'eng', type: 'porchlight-engine', backend: 'auto', threads: 1, detectorModel: path.join(dir, DETECTOR), recognizerModel: path.join(dir, RECOGNIZER) },
      { id: 'fd', type: 'porchlight-face-detect', engine: 'eng', wires: [['faces'], ['none']] },
      { id: 'faces', type: 'helper' },
      { id: 'none', type: 'helper' },
    ]);
    const fd = helper.getNode('fd');
    const statuses: Array<{ fill: string; text: string }> = [];
    fd.on('call:status', (call: { args: [{ fill: string; text: string }] }) => statuses.push(call.args[0]));
    // The status under the node is short; the whole reason goes to the debug sidebar, once.
    const warnings: string[] = [];
    fd.on('call:warn', (call: { args: [unknown] }) => warnings.push(String(call.args[0])));
    await waitUntil(() => statuses.some((s) => s.fill !== 'blue'), { timeout: 150_000, interval: 100, message: 'face-detect past its loading status' });
    const found = nextMessage<Record<string, any>>(helper.getNode('faces'), 60_000);
    fd.receive({ payload: demoPhoto(1) });
    const detection = await found;
    return { statuses, warnings, health: (await healthReport()).components['backend:eng'] as { ok: boolean; backend: string; reason: string }, detection };
  }

  it('a truncated recognizer file: the engine falls back to face-api on ONNX, face-detect warns naming the file, faces are still found', async () => {
    const broken = path.join(dir, RECOGNIZER);
    truncate(broken);
    const { statuses, warnings, health, detection } = await detectWithBrokenModels();
    const warning = statuses.find((s) => s.fill === 'yellow');
    assert.ok(warning, `a warning status: ${JSON.stringify(statuses)}`);
    assert.equal(warning.text, 'fallback: face-api SSD MobileNet');
    const told = warnings.filter((w) => w.startsWith('face-detect fallback: '));
    assert.equal(told.length, 1, JSON.stringify(warnings));
    assert.match(told[0], /^face-detect fallback: face-api SSD MobileNet \+ ResNet-128 \(onnxruntime\), because ONNX self-test failed: .*Load model from .*mobilefacenet_foamliu_alenchen\.onnx failed/);
    assert.equal(health.ok, true);
    assert.match(health.reason, new RegExp(`face-api's networks on ONNX, because ONNX self-test failed: .*${broken.replace(/[.]/g, '\\.')}`));
    assert.ok(detection.faces.length > 0, 'the photo still has its faces');
    assert.equal(detection.detection.detector, 'ssd-mobilenetv1-onnx');
  });

  it('a missing detector file: the engine says which file is missing and falls back; Node-RED keeps detecting', async () => {
    const missing = path.join(dir, DETECTOR);
    fs.rmSync(missing);
    const { statuses, warnings, health, detection } = await detectWithBrokenModels();
    const warning = statuses.find((s) => s.fill === 'yellow');
    assert.equal(warning?.text, 'fallback: face-api SSD MobileNet');
    assert.ok(warnings.includes(`face-detect fallback: face-api SSD MobileNet + ResNet-128 (onnxruntime), because ONNX model not found: ${missing} (install with: porchlight models install yunet-mobilefacenet)`), JSON.stringify(warnings));
    assert.match(health.reason, /^auto: face-api's networks on ONNX, because ONNX model not found/);
    assert.ok(detection.faces.length > 0);
  });

  it('a corrupt detector with another one registered falls back, saying which file; with nothing left it fails clearly', async () => {
    const broken = path.join(dir, DETECTOR);
    fs.writeFileSync(broken, Buffer.from('<html>404 Not Found</html>')); // what a failed download often leaves
    const withSpare = new DetectorRegistry();
    withSpare.register(ssdMobilenetV1Factory);
    withSpare.register(yunetFactory);
    const created = await withSpare.create('yunet', { modelPath: broken });
    try {
      assert.equal(created.fallbackFrom, 'yunet');
      assert.match(created.warning!, new RegExp(`^detector "yunet" unavailable \\(.*${path.basename(broken).replace(/[.]/g, '\\.')}.*\\); using "ssd-mobilenetv1"$`));
    } finally {
      created.detector.dispose();
    }

    const alone = new DetectorRegistry();
    alone.register(yunetFactory);
    await assert.rejects(alone.create('yunet', { modelPath: broken }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MODEL_UNAVAILABLE');
      assert.match(err.message, new RegExp(`^detector "yunet" unavailable \\(.*${path.basename(broken).replace(/[.]/g, '\\.')}.*\\) and no other detector loads$`));
      return true;
    });
  });
});

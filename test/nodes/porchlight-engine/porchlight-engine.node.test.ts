import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { healthReport } from '../../../lib/metrics/health';
import { acquireSharedPool, type PoolLease } from '../../../lib/workers/pool';
import type { EngineConfigNode } from '../../../nodes/shared/engine';
import { helper, sendAndAwait } from '../../support/node-red';
import { referenceModel, referenceOnnxEngine, verifyReferenceModels } from '../../support/onnx-models';
import { lfwDir, lfwPeople, modelsDir, nodeFile } from '../../support/paths';
import { tempDir } from '../../support/temp';

const engine = require(nodeFile('porchlight-engine'));
const dbNode = require(nodeFile('porchlight-db'));
const faceDbNode = require(nodeFile('face-db'));
const detectNode = require(nodeFile('face-detect'));
const recognizeNode = require(nodeFile('face-recognize'));

/** The engine's selection, asked as a registered user (deregistered when the test's flow is unloaded). */
const selectionUsers: Array<() => void> = [];
function selectionOf(node: EngineConfigNode) {
  const user = {};
  node.register(user);
  selectionUsers.push(() => node.deregister(user, () => undefined));
  return node.engine.selection();
}

describe('porchlight-engine node: backend selection and model packs (Node-RED runtime)', function () {
  this.timeout(120_000);
  let lease: PoolLease;
  let packsDir: string;
  const savedEnv = process.env.PORCHLIGHT_MODELS_DIR;

  before(() => {
    verifyReferenceModels();
    lease = acquireSharedPool({ threads: 1, maxQueue: 4 });
  });
  after(async () => {
    await lease.release();
  });
  beforeEach(() => {
    packsDir = tempDir('porchlight-engine-packs-');
    process.env.PORCHLIGHT_MODELS_DIR = packsDir;
  });
  afterEach(async () => {
    for (const leave of selectionUsers.splice(0)) leave();
    await helper.unload();
    if (savedEnv === undefined) delete process.env.PORCHLIGHT_MODELS_DIR;
    else process.env.PORCHLIGHT_MODELS_DIR = savedEnv;
    fs.rmSync(packsDir, { recursive: true, force: true });
  });

  it('backend onnx with model files from the dialog: YuNet + MobileFaceNet after a self-test, shown in /porchlight/health', async () => {
    const flow = [referenceOnnxEngine()];
    await helper.load(engine, flow);
    const node = helper.getNode('eng') as unknown as EngineConfigNode;
    assert.equal((await healthReport()).components['backend:eng'].reason, 'not chosen yet: no vision node has asked');
    const selection = await selectionOf(node);
    assert.equal(selection.backend, 'onnx');
    assert.equal(selection.detector, 'yunet');
    assert.equal(selection.recognizer, 'onnx');
    assert.match(selection.reason, /^ONNX self-test passed in \d+ ms \(yunet_s_640_640\.onnx \+ mobilefacenet_foamliu_alenchen\.onnx\)$/);
    assert.equal(await selectionOf(node), selection, 'chosen once');
    assert.equal(selection.label, 'YuNet + MobileFaceNet (onnxruntime)');
    const health = (await healthReport()).components['backend:eng'];
    assert.deepEqual(health, { ok: true, backend: 'onnx', pipeline: 'YuNet + MobileFaceNet (onnxruntime)', reason: selection.reason, requested: 'onnx' });
  });

  it('backend onnx with a wrong model fails loudly, in the health report too', async () => {
    await helper.load(engine, [{ id: 'eng', type: 'porchlight-engine', backend: 'onnx', detectorModel: referenceModel('yunet_s_640_640.onnx'), recognizerModel: referenceModel('ultraface_version-RFB-320.onnx') }]);
    const node = helper.getNode('eng') as unknown as EngineConfigNode;
    process.env.PORCHLIGHT_MODELS_DIR = path.join(modelsDir, 'README.md'); // no graph can be built there either
    await assert.rejects(selectionOf(node), /a recognizer expects \?x3x112x112, got 1x3x240x320/);
    const health = (await healthReport()).components['backend:eng'];
    assert.equal(health.ok, false);
    assert.match(String(health.reason), /ONNX self-test failed/);
  });

  it('backend tfjs never runs the ONNX self-test', async () => {
    await helper.load(engine, [{ id: 'eng', type: 'porchlight-engine', backend: 'tfjs' }]);
    const selection = await selectionOf(helper.getNode('eng') as unknown as EngineConfigNode);
    assert.deepEqual([selection.backend, selection.detector, selection.recognizer, selection.reason], ['tfjs', 'ssd-mobilenetv1', 'faceapi-resnet128', 'tfjs as configured']);
    assert.equal(selection.label, 'face-api SSD MobileNet + ResNet-128 (tfjs)');
  });

  it("face-api's networks stay selectable on ONNX (detector kind faceapi), on face-api's scale", async () => {
    await helper.load(engine, [{ id: 'eng', type: 'porchlight-engine', backend: 'onnx', detectorKind: 'faceapi' }]);
    const selection = await selectionOf(helper.getNode('eng') as unknown as EngineConfigNode);
    assert.deepEqual([selection.backend, selection.detector, selection.recognizer], ['onnx', 'ssd-mobilenetv1-onnx', 'faceapi-resnet128-onnx']);
    assert.equal(selection.label, 'face-api SSD MobileNet + ResNet-128 (onnxruntime)');
    assert.equal(selection.fallback, undefined, 'asked for, not a fallback');
    assert.equal(selection.tolerance, 0.6);
    assert.match(selection.reason, /^face-api's networks on ONNX as configured; self-test passed in \d+ ms$/);
  });

  it('a fresh Node-RED with no engine node and no model pack enrolls and recognizes with the bundled YuNet + MobileFaceNet; health and face-detect say so', async () => {
    const dir = tempDir('porchlight-fresh-');
    try {
      const [person, other] = lfwPeople().filter((p) => fs.readdirSync(path.join(lfwDir, p)).length >= 3).slice(0, 2);
      // This LFW copy does not hold every numbered image: the n-th file of the person's folder.
      const image = (p: string, n: number) => fs.readFileSync(path.join(lfwDir, p, fs.readdirSync(path.join(lfwDir, p)).sort()[n - 1]));
      await helper.load([engine, dbNode, faceDbNode, detectNode, recognizeNode], [
        { id: 'db', type: 'porchlight-db', file: path.join(dir, 'faces.db') },
        { id: 'fdb', type: 'porchlight-face-db', db: 'db', action: 'enroll', wires: [['enrolled']] },
        { id: 'fd', type: 'porchlight-face-detect', queuePolicy: 'wait', wires: [['faces'], []] },
        { id: 'fr', type: 'porchlight-face-recognize', db: 'db', tolerance: '', burstFrames: 1, queuePolicy: 'wait', wires: [['known'], ['unknown'], [], []] },
        ...['enrolled', 'faces', 'known', 'unknown'].map((id) => ({ id, type: 'helper' })),
      ]);
      for (const p of [person, other]) {
        const enrolled = await sendAndAwait('fdb', 'enrolled', { action: 'enroll', name: p, payload: [image(p, 1), image(p, 2)] });
        assert.ok(enrolled.payload.faceIds.length >= 1, JSON.stringify(enrolled.payload));
      }
      const recognized = await sendAndAwait('fr', 'known', { payload: image(person, 3) });
      assert.equal(recognized.verdict.people[0].name, person);
      assert.equal(recognized.faces[0].model, 'onnx:mobilefacenet_foamliu_alenchen@501048e4bff0');
      const detected = await sendAndAwait('fd', 'faces', { payload: image(other, 3) });
      assert.equal(detected.detection.detector, 'yunet');
      const readyText = (helper.getNode('fd').status as any).getCalls().map((c: { args: [{ text?: string }] }) => c.args[0]?.text).filter((t: string) => /^ready/.test(t));
      assert.ok(readyText.includes('ready (YuNet + MobileFaceNet)'), JSON.stringify(readyText));
      const logged = (helper.getNode('fd').log as any).getCalls().map((c: { args: [unknown] }) => String(c.args[0]));
      assert.ok(logged.includes('face-detect ready: YuNet + MobileFaceNet (onnxruntime)'), JSON.stringify(logged));
      const health = (await healthReport()).components['backend:default'];
      assert.equal(health.ok, true);
      assert.equal(health.pipeline, 'YuNet + MobileFaceNet (onnxruntime)');
      assert.equal(health.backend, 'onnx');
      assert.match(String(health.reason), /^auto: ONNX self-test passed in \d+ ms \(yunet_s_640_640\.onnx \+ mobilefacenet_foamliu_alenchen\.onnx\)$/);
      assert.deepEqual(fs.readdirSync(packsDir), [], 'no model pack was installed or downloaded');
      await helper.unload();
      assert.equal((await healthReport()).components['backend:default'], undefined, 'gone with the nodes that used it');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists model packs and installs one from a folder through the admin API', async () => {
    await helper.load(engine, [{ id: 'eng', type: 'porchlight-engine' }]);
    let res = await helper.request().get('/porchlight/models').expect(200);
    assert.deepEqual(res.body.map((p: any) => [p.name, p.installed]), [['yunet-mobilefacenet', false]]);
    await helper.request().post('/porchlight/models/install').send({ pack: 42 }).expect(400);
    res = await helper.request().post('/porchlight/models/install').send({ pack: 'nope' }).expect(404);
    assert.equal(res.body.error.code, 'NOT_FOUND');
    assert.match(res.body.error.message, /unknown model pack "nope"/);
    res = await helper.request().post('/porchlight/models/install').send({ pack: 'yunet-mobilefacenet', from: modelsDir }).expect(200);
    assert.equal(res.body.files.length, 2);
    assert.ok(res.body.files.every((f: any) => f.path.startsWith(packsDir)));
    res = await helper.request().get('/porchlight/models').expect(200);
    assert.equal(res.body[0].installed, true);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { healthReport } from '../../../lib/metrics/health';
import { DEFAULT_PACK, packFilePath } from '../../../lib/models/packs';
import { acquireSharedPool, sharedPoolUsers, type PoolLease } from '../../../lib/workers/pool';
import type { EngineConfigNode } from '../../../nodes/shared/engine';
import { helper } from '../../support/node-red';
import { tempDir } from '../../support/temp';
import { waitUntil } from '../../support/wait';
import { referenceModel, verifyReferenceModels } from '../../support/onnx-models';
import { lfwDir, lfwPeople, modelsDir, nodeFile } from '../../support/paths';

const engineNode = require(nodeFile('porchlight-engine'));
const dbNode = require(nodeFile('porchlight-db'));
const faceDbNode = require(nodeFile('face-db'));
const detectNode = require(nodeFile('face-detect'));

type Spy = { getCalls(): Array<{ args: unknown[]; thisValue: unknown }> };
/** The helper spies on Node.prototype: one node's calls are those made on it. */
const calls = (node: unknown, method: 'warn' | 'status' | 'error') =>
  ((node as Record<string, Spy>)[method]).getCalls().filter((c) => c.thisValue === node).map((c) => c.args[0]);
const closeListeners = (node: unknown) => (node as { _closeCallbacks: unknown[] })._closeCallbacks.length;

const until = (what: string, predicate: () => boolean | Promise<boolean>) => waitUntil(predicate, { timeout: 90_000, interval: 100, message: what });

describe('config nodes own their resources: porchlight-engine (Node-RED runtime)', function () {
  this.timeout(240_000);
  let dir: string;
  const savedEnv = process.env.PORCHLIGHT_MODELS_DIR;

  before(() => verifyReferenceModels());
  beforeEach(() => {
    dir = tempDir('porchlight-ownership-');
    process.env.PORCHLIGHT_MODELS_DIR = path.join(dir, 'models');
  });
  afterEach(async () => {
    await helper.unload();
    if (savedEnv === undefined) delete process.env.PORCHLIGHT_MODELS_DIR;
    else process.env.PORCHLIGHT_MODELS_DIR = savedEnv;
  });

  it('the engine holds one pool lease while it has users, and gives it back when they are gone', async () => {
    assert.equal(sharedPoolUsers(), 0, 'no pool before the flow');
    await helper.load([engineNode, detectNode], [
      { id: 'eng', type: 'porchlight-engine', backend: 'tfjs' },
      { id: 'fd1', type: 'porchlight-face-detect', engine: 'eng', wires: [[], []] },
      { id: 'fd2', type: 'porchlight-face-detect', engine: 'eng', wires: [[], []] },
    ]);
    const engine = helper.getNode('eng') as unknown as EngineConfigNode;
    assert.equal(engine.engine.userCount, 2);
    assert.equal(sharedPoolUsers(), 1, 'one lease for the engine, however many users');
    assert.ok(engine.engine.pool, 'the running pool, for admin requests');
    await helper.unload();
    assert.equal(sharedPoolUsers(), 0, 'given back when the users closed');
  });

  it('install a model pack, redeploy: the engine selects again and uses it (the dialog says "redeploy" truthfully)', async () => {
    // An engine pointing at the pack's files before they are installed: auto falls back (face-api's networks).
    const detectorModel = packFilePath(DEFAULT_PACK, 'detector');
    const recognizerModel = packFilePath(DEFAULT_PACK, 'recognizer');
    const flow = [
      { id: 'eng', type: 'porchlight-engine', backend: 'auto', detectorModel, recognizerModel },
      { id: 'fd', type: 'porchlight-face-detect', engine: 'eng', wires: [[], []] },
    ];
    await helper.load([engineNode, detectNode], flow);
    const before = await (helper.getNode('eng') as unknown as EngineConfigNode).engine.selection();
    assert.notEqual(before.label, 'YuNet + MobileFaceNet (onnxruntime)');
    assert.match(String(before.fallback), /ONNX model not found: .*yunet_s_640_640\.onnx/);

    await helper.request().post('/porchlight/models/install').send({ pack: DEFAULT_PACK, from: modelsDir }).expect(200);
    assert.equal((await (helper.getNode('eng') as unknown as EngineConfigNode).engine.selection()).label, before.label, 'until the redeploy, the running engine keeps its choice');

    await helper.setFlows(flow, 'full'); // the editor's Deploy
    const after = await (helper.getNode('eng') as unknown as EngineConfigNode).engine.selection();
    assert.equal(after.label, 'YuNet + MobileFaceNet (onnxruntime)');
    assert.equal(after.fallback, undefined);
    assert.equal(after.detectorConfig.modelPath, detectorModel);
    // The dialog's words come from its locale file.
    const words = fs.readFileSync(path.join(path.dirname(nodeFile('porchlight-engine')), 'locales', 'en-US', 'porchlight-engine.json'), 'utf8');
    assert.match(words, /installed; redeploy to use it/, 'what the dialog says is what happens');
  });

  it('the implicit default engine (no config node) selects again after a redeploy, and goes with its last user', async () => {
    const flow = [{ id: 'fd', type: 'porchlight-face-detect', wires: [[], []] }];
    const chosen = () => (helper.log() as unknown as Spy).getCalls().filter((c) => /porchlight: vision engine /.test(JSON.stringify(c.args[0]))).length;
    await helper.load([detectNode], flow);
    await until('the default engine chose', async () => (await healthReport()).components['backend:default']?.backend !== undefined);
    const first = chosen();
    assert.ok(first >= 1);
    await helper.setFlows(flow, 'full');
    await until('the default engine chose again', () => chosen() > first);
    assert.equal(sharedPoolUsers(), 1);
    await helper.unload();
    assert.equal((await healthReport()).components['backend:default'], undefined);
    assert.equal(sharedPoolUsers(), 0);
  });

  it('a user of an engine whose pool runs with other settings is warned (node.warn and status), the others are not', async () => {
    let lease: PoolLease | undefined = acquireSharedPool({ threads: 1 });
    try {
      await helper.load([engineNode, detectNode], [
        { id: 'same', type: 'porchlight-engine', backend: 'tfjs', threads: 1 },
        { id: 'other', type: 'porchlight-engine', backend: 'tfjs', threads: 2, maxQueue: 7 },
        { id: 'fd1', type: 'porchlight-face-detect', engine: 'same', wires: [[], []] },
        { id: 'fd2', type: 'porchlight-face-detect', engine: 'other', wires: [[], []] },
      ]);
      assert.deepEqual(calls(helper.getNode('fd1'), 'warn'), []);
      const [warning] = calls(helper.getNode('fd2'), 'warn');
      assert.match(String(warning), /^the worker pool worker-pool is already open with other settings; using it as it is: threads 2 \(in use: 1\), maxQueue 7 \(in use: 32\)$/);
      assert.ok(
        calls(helper.getNode('fd2'), 'status').some((s) => JSON.stringify(s) === JSON.stringify({ fill: 'yellow', shape: 'ring', text: 'engine: other settings in use' })),
        'the status says so too',
      );
    } finally {
      await helper.unload();
      await lease?.release();
      lease = undefined;
    }
  });

  it('face-db: every failed engine selection leaves no extra pool lease nor close listener', async () => {
    const faces = path.join(lfwDir, lfwPeople()[0]);
    const photo = fs.readFileSync(path.join(faces, fs.readdirSync(faces)[0]));
    await helper.load([engineNode, dbNode, faceDbNode], [
      // A recognizer file that is a detector: the ONNX self-test fails, and explicit onnx falls back to nothing.
      { id: 'eng', type: 'porchlight-engine', backend: 'onnx', detectorModel: referenceModel('yunet_s_640_640.onnx'), recognizerModel: referenceModel('ultraface_version-RFB-320.onnx') },
      { id: 'db', type: 'porchlight-db', file: path.join(dir, 'faces.db') },
      { id: 'fdb', type: 'porchlight-face-db', db: 'db', engine: 'eng', wires: [[]] },
    ]);
    process.env.PORCHLIGHT_MODELS_DIR = path.join(modelsDir, 'README.md'); // no face-api graph can be built there either
    const node = helper.getNode('fdb');
    const listeners = closeListeners(node);
    const errors = () => calls(node, 'error').length;
    for (let n = 1; n <= 3; n++) {
      node.receive({ action: 'enroll', name: 'someone', payload: photo } as never);
      await until(`failed selection ${n}`, () => errors() >= n);
      assert.equal(sharedPoolUsers(), 1, `one lease after ${n} failed selection(s)`);
      assert.equal(closeListeners(node), listeners, `no close listener added by failed selection ${n}`);
    }
    assert.match(String(calls(node, 'error')[0]), /recognizer expects \?x3x112x112/);
    await helper.unload();
    assert.equal(sharedPoolUsers(), 0, 'back to 0 when the node closed');
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { NodeStatus } from 'node-red';
import { newEventId } from '../../lib/events/event-id';
import { demoPhoto, textFile } from '../support/images';
import { helper, nextMessage } from '../support/node-red';
import { referenceModel, verifyReferenceModels } from '../support/onnx-models';
import { nodeFile } from '../support/paths';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

const NODE_MODULES = ['porchlight-engine', 'porchlight-db', 'gpio-doorbell', 'frame-buffer', 'face-detect', 'face-recognize', 'face-db', 'event-log'].map((name) =>
  require(nodeFile(name)),
);
const RECOGNIZER = 'mobilefacenet_foamliu_alenchen.onnx';
const SHOWN = ['bell', 'fb', 'cam', 'fd', 'fr', 'fdb', 'el'];
const OUTPUTS = ['bellOut', 'fbOut', 'fdFaces', 'fdNone', 'verdict', 'elOut', 'elRecorded', 'fdbOut'];

/**
 * A status fits under its node in the editor (32 characters), in
 * every common state: ready, working, a bad input, a fallback. Every node in
 * one real Node-RED, the texts collected as the nodes set them.
 */
describe('node statuses: at most 32 characters in every common state', function () {
  this.timeout(300_000);
  let dir: string;
  const seen: Array<{ node: string; status: NodeStatus }> = [];
  const textsOf = (node: string) => seen.filter((s) => s.node === node).map((s) => String(s.status.text ?? ''));

  before(async () => {
    verifyReferenceModels();
    dir = tempDir('porchlight-statuses-');
    // The ONNX detector file is missing: the engine falls back (face-detect shows it), the recognizer is there.
    fs.copyFileSync(referenceModel(RECOGNIZER), path.join(dir, RECOGNIZER));
    const flow = [
      { id: 'tab', type: 'tab', label: 'statuses' },
      { id: 'eng', type: 'porchlight-engine', backend: 'auto', threads: 1, detectorModel: path.join(dir, 'yunet_s_640_640.onnx'), recognizerModel: path.join(dir, RECOGNIZER) },
      { id: 'db', type: 'porchlight-db', file: path.join(dir, 'porchlight.db'), snapshotDir: path.join(dir, 'snapshots') },
      { id: 'bell', type: 'porchlight-gpio-doorbell', z: 'tab', backend: 'simulated', debounce: 0, minPress: 0, longPress: 0, cooldown: 0, wires: [['bellOut'], []] },
      { id: 'fb', type: 'porchlight-frame-buffer', z: 'tab', source: 'msg', preRoll: 1, burstCount: 0, output: 'single', wires: [['fbOut']] },
      // A camera whose URL was never set: its error status.
      { id: 'cam', type: 'porchlight-frame-buffer', z: 'tab', source: 'mjpeg', url: '', wires: [[]] },
      { id: 'fd', type: 'porchlight-face-detect', z: 'tab', engine: 'eng', queuePolicy: 'wait', wires: [['fdFaces'], ['fdNone']] },
      {
        id: 'fr', type: 'porchlight-face-recognize', z: 'tab', engine: 'eng', db: 'db', burstFrames: 1, burstMs: 5_000, queuePolicy: 'wait',
        wires: [['verdict', 'el'], ['verdict', 'el'], ['verdict', 'el'], ['verdict', 'el']],
      },
      { id: 'el', type: 'porchlight-event-log', z: 'tab', db: 'db', wires: [['elOut'], ['elRecorded']] },
      { id: 'fdb', type: 'porchlight-face-db', z: 'tab', db: 'db', engine: 'eng', action: 'list', wires: [['fdbOut']] },
      ...OUTPUTS.map((id) => ({ id, type: 'helper', z: 'tab' })),
    ];
    await helper.load(NODE_MODULES, flow);
    for (const id of SHOWN) helper.getNode(id).on('call:status', (call: { args: [NodeStatus] }) => seen.push({ node: id, status: call.args[0] }));
  });

  after(async () => {
    await helper.unload();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ready, working, a bad input and a fallback: every text fits', async () => {
    // Ready (or the fallback) once the models are warm.
    const settled = (id: string) => () => seen.some((s) => s.node === id && s.status.fill !== 'blue' && s.status.fill !== 'grey');
    for (const id of ['fd', 'fr', 'el']) await waitUntil(settled(id), { timeout: 200_000, interval: 100, message: () => `${id} past loading: ${JSON.stringify(textsOf(id))}` });
    await waitUntil(() => textsOf('cam').includes('set the camera URL') && textsOf('fdb').length > 0, { timeout: 10_000, message: () => `camera and face-db statuses: ${JSON.stringify(seen)}` });

    // Working: a press, a frame, a photo through detection and recognition into the log, a face-db listing.
    const pressed = nextMessage<Record<string, any>>(helper.getNode('bellOut'));
    helper.getNode('bell').receive({ holdMs: 50 });
    const { event } = await pressed;
    helper.getNode('fb').receive({ payload: demoPhoto(1) });
    const found = nextMessage<Record<string, any>>(helper.getNode('fdFaces'), 120_000);
    helper.getNode('fd').receive({ payload: demoPhoto(1), event });
    const detected = await found;
    const recorded = nextMessage<Record<string, any>>(helper.getNode('elRecorded'), 120_000);
    helper.getNode('fr').receive({ payload: demoPhoto(1), faces: detected.faces, event: { ...event, id: newEventId() } });
    await recorded;
    const listed = nextMessage(helper.getNode('fdbOut'));
    helper.getNode('fdb').receive({ action: 'list' });
    await listed;

    // Bad inputs: each node's red status.
    const errorsBefore = seen.filter((s) => s.status.fill === 'red').length;
    for (const [id, msg] of [
      ['fd', { payload: textFile() }],
      ['fr', { payload: textFile(), faces: [{ box: { x: 0, y: 0, width: 10, height: 10 }, score: 1 }] }],
      ['fdb', { action: 'dance' }],
      ['el', { action: 'DROP TABLE events' }],
      ['fb', { payload: textFile() }],
    ] as const) {
      helper.getNode(id).receive(msg);
    }
    await waitUntil(() => seen.filter((s) => s.status.fill === 'red').length >= errorsBefore + 4, { timeout: 60_000, message: () => `red statuses: ${JSON.stringify(seen)}` });

    const long = seen.filter((s) => String(s.status.text ?? '').length > 32);
    assert.deepEqual(long, [], 'statuses longer than 32 characters');
    // The states were there: the fallback under face-detect, ready under face-recognize, the camera's problem, a verdict logged.
    assert.ok(textsOf('fd').some((t) => t.startsWith('fallback: ')), JSON.stringify(textsOf('fd')));
    assert.ok(textsOf('fr').some((t) => t.startsWith('ready')), JSON.stringify(textsOf('fr')));
    assert.ok(textsOf('cam').includes('set the camera URL'), JSON.stringify(textsOf('cam')));
    assert.ok(textsOf('el').some((t) => /^ready · \d+ events?$/.test(t)), JSON.stringify(textsOf('el')));
    assert.ok(seen.some((s) => s.node === 'fdb' && s.status.fill === 'red'), JSON.stringify(textsOf('fdb')));
  });
});

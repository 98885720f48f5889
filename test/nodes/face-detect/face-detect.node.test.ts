import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isEventId } from '../../../lib/events/event-id';
import { helper, nextMessage } from '../../support/node-red';
import * as images from '../../support/images';
import { faceApiDemoDir, nodeFile, repoRoot } from '../../support/paths';
import { osThreadCount } from '../../support/threads';
import { waitUntil } from '../../support/wait';

const faceDetect = require(nodeFile('face-detect'));
const engine = require(nodeFile('porchlight-engine'));
const injectNode = require('@node-red/nodes/core/common/20-inject.js');
const fileNodes = require('@node-red/nodes/core/storage/10-file.js');
const changeNode = require('@node-red/nodes/core/function/15-change.js');

/** Where a message ended up: one of face-detect's outputs, or a Catch node with the error. */
type Outcome = { port: 'faces' | 'none'; msg: Record<string, any> } | { port: 'caught'; msg: Record<string, any> };

describe('face-detect node (Node-RED runtime)', function () {
  this.timeout(120_000);

  afterEach(async () => {
    await helper.unload();
  });

  const flow = [
    { id: 'tab', type: 'tab', label: 'face-detect test' },
    { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 8, taskTimeout: 60, maxMegapixels: 40 },
    { id: 'fd', type: 'porchlight-face-detect', z: 'tab', engine: 'eng', detector: 'ssd-mobilenetv1', minConfidence: 0.5, minFaceSize: 20, maxFaces: 10, crops: true, cropSize: 128, queuePolicy: 'wait', wires: [['faces'], ['none']] },
    { id: 'faces', type: 'helper', z: 'tab' },
    { id: 'none', type: 'helper', z: 'tab' },
    { id: 'catch-fd', type: 'catch', z: 'tab', scope: ['fd'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab' },
  ];

  const load = () => helper.load([engine, faceDetect], flow);

  /** Sends one message into face-detect and resolves with wherever it comes out. */
  function send(msg: Record<string, unknown>): Promise<Outcome> {
    const outcome = Promise.race(
      (['faces', 'none', 'caught'] as const).map((port) => nextMessage<Record<string, any>>(helper.getNode(port), 90_000).then((out) => ({ port, msg: out }) as Outcome)),
    );
    helper.getNode('fd').receive(msg);
    return outcome;
  }

  it('adds msg.faces with boxes, landmarks and crops, keeping payload and event', async () => {
    await load();
    const image = images.demoPhoto(1);
    const event = { id: 'evt-1', trigger: 'test', startedAt: Date.now(), source: {} };
    const { port, msg } = await send({ payload: image, event });
    assert.equal(port, 'faces');
    assert.equal(msg.faces.length, 3);
    assert.equal(msg.payload, image);
    assert.deepEqual(msg.event, event);
    for (const face of msg.faces) {
      assert.ok(face.score >= 0.5);
      assert.equal(face.landmarks.length, 68);
      assert.ok(Buffer.isBuffer(face.crop) && face.crop[0] === 0xff && face.crop[1] === 0xd8, 'crop is a JPEG');
      assert.ok(face.box.x >= 0 && face.box.x + face.box.width <= msg.detection.width + 1);
    }
    assert.equal(msg.detection.width, 1920);
  });

  it("a flow that never set crops, landmarks or the crop size gets the dialog's defaults (both on); an explicit false turns crops off", async () => {
    const fd = flow.find((n) => n.id === 'fd')!;
    const { crops: _crops, cropSize: _cropSize, ...unsaid } = fd;
    await helper.load([engine, faceDetect], flow.map((n) => (n.id === 'fd' ? unsaid : n)));
    const said = await send({ payload: images.demoPhoto(1) });
    assert.equal(said.port, 'faces');
    for (const face of said.msg.faces) {
      assert.equal(face.landmarks.length, 68);
      assert.ok(Buffer.isBuffer(face.crop) && face.crop[0] === 0xff && face.crop[1] === 0xd8, 'crop is a JPEG');
    }
    await helper.unload();
    await helper.load([engine, faceDetect], flow.map((n) => (n.id === 'fd' ? { ...unsaid, crops: false } : n)));
    const off = await send({ payload: images.demoPhoto(1) });
    assert.equal(off.port, 'faces');
    assert.ok(off.msg.faces.every((face: Record<string, unknown>) => face.crop === undefined), 'no crops when the box is unticked');
  });

  it('sends a frame without faces to the second output', async () => {
    await load();
    const sharp = require('sharp');
    const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#7a8a9a' } }).jpeg().toBuffer();
    const { port, msg } = await send({ payload: blank });
    assert.equal(port, 'none');
    assert.deepEqual(msg.faces, []);
    assert.ok(isEventId(msg.event.id), 'a message without msg.event gets one, to be followed into the event log');
    assert.equal(msg.event.trigger, 'face-detect');
  });

  it('gives every bad or odd input its own clear error or the right faces, and keeps running', async () => {
    await load();
    const cases: Array<[string, unknown, string | number]> = [
      ['an empty Buffer', Buffer.alloc(0), 'not an image: the buffer is empty'],
      ['a truncated JPEG', images.truncatedJpeg(), 'corrupt jpeg image: VipsJpeg: premature end of JPEG image'],
      ['a text file', images.textFile(), 'not an image: 1080 bytes in no known image format'],
      ['a PNG claiming 30000x30000', images.pngClaimingSize(30000, 30000), 'image is 30000x30000, over the 40 MP limit'],
      ['a string', 'hello', 'msg.payload must be an image Buffer (JPEG, PNG, WebP) or raw pixels {data, width, height, channels}, got a string'],
      ['a number', 42, 'got a number'],
      ['no payload', undefined, 'got a undefined'],
      ['an object', { url: 'http://camera/snapshot.jpg' }, 'got an object'],
      ['raw pixels of the wrong length', { data: new Uint8Array(10), width: 4, height: 4, channels: 3 }, 'raw image data has 10 bytes, expected 4x4x3 = 48'],
      ['a 1x1 image', await images.onePixelPng(), 0],
      ['a PNG with alpha', await images.pngWithAlpha(), 3],
      ['a grayscale JPEG', await images.grayscaleJpeg(), 3],
      ['a CMYK JPEG', await images.cmykJpeg(), 3],
      ['a 16-bit PNG', await images.png16(), 3],
      ['an EXIF-rotated JPEG', await images.exifRotatedJpeg(6), 3],
    ];
    for (const [label, payload, expected] of cases) {
      const { port, msg } = await send({ payload, label });
      assert.equal(msg.label, label, 'the message comes out with its own properties');
      if (typeof expected === 'number') {
        assert.equal(port, expected > 0 ? 'faces' : 'none', label);
        assert.equal(msg.faces.length, expected, label);
        if (expected > 0) assert.deepEqual([msg.detection.width, msg.detection.height], [1920, 1280], `${label}: size in the upright frame`);
      } else {
        assert.equal(port, 'caught', `${label} reaches the Catch node`);
        assert.ok(msg.error.message.includes(expected), `${label}: "${msg.error.message}" should say "${expected}"`);
      }
    }
    const { port, msg } = await send({ payload: images.demoPhoto(1) });
    assert.deepEqual([port, msg.faces.length], ['faces', 3], 'still detecting after all of that');
  });

  it('closes within 15 s, even with frames still queued', async () => {
    await load();
    for (let i = 0; i < 5; i++) helper.getNode('fd').receive({ payload: images.demoPhoto(1 + i) });
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 15_000);
  });

  it('runs the example flow (examples/face-detect.json): a photo to faces, a text file to the Catch node', async () => {
    const example: Array<Record<string, any>> = JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', 'face-detect.json'), 'utf8'));
    // The camera branch needs a real camera and comments need the editor; the debug nodes become test probes with the same ids.
    const testable = example
      .filter((n) => n.type !== 'comment' && !['pl-ex-fd-every', 'pl-ex-fd-snapshot'].includes(n.id))
      .map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', z: n.z } : n));
    await helper.load([engine, faceDetect, injectNode, fileNodes, changeNode], testable);
    const press = async (file: string, probe: string) => {
      helper.getNode('pl-ex-fd-file').filename = file;
      const got = nextMessage<Record<string, any>>(helper.getNode(probe), 90_000);
      helper.getNode('pl-ex-fd-photo').receive({});
      return got;
    };
    const demo = path.join(faceApiDemoDir, 'sample4.jpg');
    const found = await press(demo, 'pl-ex-fd-faces');
    assert.equal(found.faces.length, 4);
    const crop = await press(demo, 'pl-ex-fd-crop-out');
    assert.ok(Buffer.isBuffer(crop.payload) && crop.payload[0] === 0xff, 'the best face as a JPEG');
    const failed = await press(path.join(repoRoot, 'package.json'), 'pl-ex-fd-error');
    assert.match(failed.error.message, /not an image: \d+ bytes in no known image format$/);
  });

  it('leaves no threads behind after 20 redeploys', async function () {
    this.timeout(300_000);
    /** Resolves once face-detect has loaded its models (status "ready ..."), even if that happened already. */
    const ready = () =>
      new Promise<void>((resolve) => {
        const node = helper.getNode('fd');
        const isReady = (call: { thisValue: unknown; args: [{ text?: string }] }) => call.thisValue === node && String(call.args[0]?.text).startsWith('ready');
        if (node.status.getCalls().some(isReady)) resolve();
        node.on('call:status', (call: { thisValue: unknown; args: [{ text?: string }] }) => {
          if (isReady(call)) resolve();
        });
      });
    // A first deployment and a first photo start every library's own long-lived threads (libvips, V8 platform).
    await load();
    await send({ payload: images.demoPhoto(1) });
    await helper.unload();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const baseline = osThreadCount();

    await load();
    await send({ payload: images.demoPhoto(1) });
    const deployed = osThreadCount();
    for (let i = 1; i <= 20; i++) {
      await helper.setFlows(flow.map((n) => (n.id === 'fd' ? { ...n, name: `redeploy ${i}` } : n)), 'full');
      await ready();
    }
    const { port } = await send({ payload: images.demoPhoto(1) });
    assert.equal(port, 'faces', 'the last deployment works');
    await waitUntil(() => osThreadCount() <= deployed, { timeout: 5000, interval: 50, message: () => `threads after 20 redeploys: ${osThreadCount()}, after the first: ${deployed}` });
    await helper.unload();
    await waitUntil(() => osThreadCount() <= baseline, { timeout: 5000, interval: 50, message: () => `threads after closing: ${osThreadCount()}, before: ${baseline}` });
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { helper, nextMessage } from './support/node-red';
import { faceApiDemoDir, nodeFile } from './support/paths';

const faceDetect = require(nodeFile('face-detect'));
const engine = require(nodeFile('porchlight-engine'));

describe('face-detect node (Node-RED runtime)', function () {
  this.timeout(120_000);

  afterEach(async () => {
    await helper.unload();
  });

  const flow = [
    { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 8, taskTimeout: 60, maxMegapixels: 40 },
    { id: 'fd', type: 'face-detect', engine: 'eng', detector: 'ssd-mobilenetv1', minConfidence: 0.5, minFaceSize: 20, maxFaces: 10, crops: true, cropSize: 128, queuePolicy: 'wait', wires: [['faces'], ['none']] },
    { id: 'faces', type: 'helper' },
    { id: 'none', type: 'helper' },
  ];

  it('adds msg.faces with boxes, landmarks and crops, keeping payload and event', async () => {
    await helper.load([engine, faceDetect], flow);
    const image = fs.readFileSync(path.join(faceApiDemoDir, 'sample1.jpg'));
    const got = nextMessage<Record<string, any>>(helper.getNode('faces'), 90_000);
    const event = { id: 'evt-1', trigger: 'test', startedAt: Date.now(), source: {} };
    helper.getNode('fd').receive({ payload: image, event });
    const msg = await got;
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

  it('sends a frame without faces to the second output', async () => {
    await helper.load([engine, faceDetect], flow);
    const sharp = require('sharp');
    const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#7a8a9a' } }).jpeg().toBuffer();
    const got = nextMessage<Record<string, any>>(helper.getNode('none'), 90_000);
    helper.getNode('fd').receive({ payload: blank });
    const msg = await got;
    assert.deepEqual(msg.faces, []);
  });

  it('reports a wrong payload type through done(err) and keeps running', async () => {
    await helper.load([engine, faceDetect], flow);
    const node = helper.getNode('fd');
    const errored = new Promise<Error>((resolve) => {
      node.on('call:error', (call: { args: [Error] }) => resolve(call.args[0]));
    });
    node.receive({ payload: 'hello' });
    const err = await errored;
    assert.match(String(err), /msg\.payload must be an image Buffer/);
  });

  it('closes within 15 s', async () => {
    await helper.load([engine, faceDetect], flow);
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 15_000);
  });
});

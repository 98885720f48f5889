import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildExample, type FlowNode } from '../../scripts/build-examples';
import { helper } from '../support/node-red';
import { nodeFile } from '../support/paths';
import { waitUntil } from '../support/wait';
import { tempDir } from '../support/temp';

const dbNode = require(nodeFile('porchlight-db'));
const eventLogNode = require(nodeFile('event-log'));
const frameBufferNode = require(nodeFile('frame-buffer'));

/**
 * The doorbell example's Catch node sends the pipeline's failures to the event
 * log. It must not catch the event log's own: a failing event log would be
 * fed its own error again and again (Node-RED's loop guard stops it after
 * about ten rounds), ten errors for one message.
 */
describe("the doorbell example's Catch node (Node-RED runtime)", function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = tempDir('porchlight-catch-');
  });
  afterEach(() => helper.unload());

  it('catches the pipeline nodes only, not the event log it feeds', function () {
    const nodes = buildExample('doorbell');
    const byType = (type: string) => nodes.filter((n) => n.type === `porchlight-${type}`);
    const [logNode] = byType('event-log');
    for (const catchNode of nodes.filter((n) => n.type === 'catch' && (n.wires ?? []).flat().includes(logNode.id))) {
      const scope = catchNode.scope as string[] | null;
      assert.ok(Array.isArray(scope), 'a scoped Catch node');
      assert.ok(!scope.includes(logNode.id), 'the event log is not in its scope');
      for (const type of ['gpio-doorbell', 'frame-buffer', 'face-detect', 'face-recognize']) {
        for (const node of byType(type)) assert.ok(scope.includes(node.id), `${type} is in its scope`);
      }
    }
  });

  it('a failing event log reports each message once; a pipeline failure still reaches it once', async () => {
    // The shipped nodes of the example on its tab; the database is a file that cannot be opened (its folder is a file).
    const notAFolder = path.join(dir, 'not-a-folder');
    fs.writeFileSync(notAFolder, 'x');
    const wanted = (n: FlowNode) => ['tab', 'catch', 'porchlight-db', 'porchlight-event-log', 'porchlight-frame-buffer'].includes(n.type);
    const flow = structuredClone(buildExample('doorbell').filter(wanted)).map((n) => {
      if (n.type === 'porchlight-db') return { ...n, file: path.join(notAFolder, 'faces.db'), snapshotDir: path.join(notAFolder, 'snapshots'), backupEnabled: false };
      if (n.type === 'porchlight-frame-buffer') return { ...n, source: 'msg', wires: [[]] };
      if (n.type === 'porchlight-event-log') return { ...n, wires: [[], []] };
      return n;
    });
    const logId = flow.find((n) => n.type === 'porchlight-event-log')!.id;
    const cameraId = flow.find((n) => n.type === 'porchlight-frame-buffer')!.id;
    await helper.load([dbNode, eventLogNode, frameBufferNode], flow);
    const log = helper.getNode(logId);
    // The errors of messages (done(err) reports one with its message; the failed opening is reported once, without).
    const errors: Error[] = [];
    log.on('call:error', (call: { args: [Error, unknown?] }) => call.args[1] && errors.push(call.args[0]));
    let inputs = 0;
    log.on('input', () => inputs++);

    log.receive({ event: { id: '01M8NTESTEVENT0000000000001', trigger: 'doorbell', startedAt: Date.now(), source: {} } });
    await waitUntil(() => errors.length >= 1, { timeout: 20_000, message: 'the event log to report its failure' });
    // Any loop would have fed it again by now (each round is a few ticks): give it time, then count.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(errors.length, 1, `one error for one message, got ${errors.length}`);
    assert.equal(inputs, 1);

    // A frame-buffer failure (a Buffer that is no JPEG) is caught and brought to the event log, once.
    helper.getNode(cameraId).receive({ payload: Buffer.from('not a jpeg') });
    await waitUntil(() => inputs >= 2, { timeout: 20_000, message: 'the Catch node to bring the pipeline error to the event log' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(inputs, 2);
    assert.equal(errors.length, 2);
  });
});

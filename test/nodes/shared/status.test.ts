import assert from 'node:assert/strict';
import type { Node, NodeStatus } from 'node-red';
import { PorchlightError } from '../../../lib/errors';
import { fail, shortStatus, showStatus, warnStatus } from '../../../nodes/shared/status';

/** nodes/shared/status.ts fail(): the one way a node reports a message it could not handle. */
describe('fail(node, done, err)', function () {
  /** What fail() touches of a node: its status. */
  function recorder() {
    const statuses: NodeStatus[] = [];
    const node = { status: (s: NodeStatus) => statuses.push(s) } as unknown as Node;
    const dones: Array<Error | undefined> = [];
    return { node, statuses, dones, done: (err?: Error) => dones.push(err) };
  }

  it('shows the household words for a known kind of failure and hands the technical error to done', function () {
    const { node, statuses, dones, done } = recorder();
    const err = new PorchlightError('DB_UNREACHABLE', 'connect ECONNREFUSED 127.0.0.1:5432');
    fail(node, done, err);
    assert.deepEqual(statuses, [{ fill: 'red', shape: 'ring', text: 'face database unreachable' }]);
    assert.deepEqual(dones, [err]);
  });

  it("shows the error's own message, cut at a word to 32 characters, when the household has no words for it", function () {
    const { node, statuses, dones, done } = recorder();
    const err = new Error(`unknown msg.action "dance": use list, add or remove`);
    fail(node, done, err);
    assert.equal(statuses[0].text, 'unknown msg.action "dance": use…');
    assert.equal(statuses[0].fill, 'red');
    assert.equal(dones[0], err);
  });

  it('wraps a thrown non-Error, and shows nothing while the node closes', function () {
    const { node, statuses, dones, done } = recorder();
    fail(node, done, 'plain text', { quiet: true });
    assert.deepEqual(statuses, []);
    assert.ok(dones[0] instanceof Error);
    assert.equal(dones[0]!.message, 'plain text');
  });
});

describe('shortStatus and showStatus', function () {
  it('keeps a short text, cuts a long one at a word with "…", never past 32 characters', function () {
    assert.equal(shortStatus('ready · 1 in 1,000 · 20 people'), 'ready · 1 in 1,000 · 20 people');
    assert.equal(shortStatus('known: Alexandra Montgomery-Featherstonehaugh · 640 ms'), 'known: Alexandra…');
    assert.equal(shortStatus('x'.repeat(50)), `${'x'.repeat(31)}…`);
    assert.equal(shortStatus('a  b\n c'), 'a b c');
    for (let n = 0; n < 80; n++) assert.ok(shortStatus('word '.repeat(n)).length <= 32);
  });

  it('tells the detail to the sidebar once per change, a warning for a problem and a log line otherwise', function () {
    const statuses: NodeStatus[] = [];
    const told: string[] = [];
    const node = { status: (s: NodeStatus) => statuses.push(s), warn: (t: string) => told.push(`warn ${t}`), log: (t: string) => told.push(`log ${t}`) } as unknown as Node;
    for (let i = 0; i < 3; i++) showStatus(node, warnStatus('fallback: face-api SSD'), 'face-detect fallback: the ONNX model file is missing');
    showStatus(node, { fill: 'green', shape: 'dot', text: 'ready' });
    showStatus(node, warnStatus('fallback: face-api SSD'), 'face-detect fallback: the ONNX model file is missing');
    showStatus(node, { fill: 'green', shape: 'dot', text: 'ready · 1 in 1,000 · 20 people' }, 'ready: distance 0.87 for 1 in 1,000 · 20 people');
    assert.deepEqual(told, [
      'warn face-detect fallback: the ONNX model file is missing',
      'warn face-detect fallback: the ONNX model file is missing',
      'log ready: distance 0.87 for 1 in 1,000 · 20 people',
    ]);
    assert.equal(statuses.length, 6);
    assert.ok(statuses.every((s) => String(s.text).length <= 32));
  });
});

import assert from 'node:assert/strict';
import type { Node, NodeStatus } from 'node-red';
import { PorchlightError } from '../lib/errors';
import { fail } from '../nodes/shared/status';

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
    assert.deepEqual(statuses, [{ fill: 'red', shape: 'ring', text: "Couldn't reach the face database." }]);
    assert.deepEqual(dones, [err]);
  });

  it("shows the error's own message (cut to 60 characters) when the household has no words for it", function () {
    const { node, statuses, dones, done } = recorder();
    const err = new Error(`unknown msg.action "dance": ${'x'.repeat(80)}`);
    fail(node, done, err);
    assert.equal(statuses[0].text, `${err.message.slice(0, 57)}...`);
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

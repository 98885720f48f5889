import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildExample, type FlowNode } from '../../scripts/build-examples';
import { helper, nextMessage } from '../support/node-red';

/** A core node module of the Node-RED the tests run. */
const core = (file: string) => require(require.resolve(`@node-red/nodes/core/${file}`, { paths: [path.dirname(require.resolve('node-red'))] }));

/** The named nodes of an example, as shipped, with their outputs rewired to helper nodes named `<id>_out`. */
function pick(example: string, ids: string[], rewire: Record<string, string> = {}): FlowNode[] {
  const nodes = buildExample(example);
  return ids.flatMap((id) => {
    const node = structuredClone(nodes.find((n) => n.id === id)!);
    // Outside a tab: without z (and with no canvas position, or Node-RED drops it as an orphan).
    for (const key of ['z', 'g', 'x', 'y']) delete node[key];
    if (!node.wires) return [node];
    node.wires = [[rewire[id] ?? `${id}_out`]];
    return rewire[id] ? [node] : [node, { id: `${id}_out`, type: 'helper' }];
  });
}

const event = { id: '01M8NTESTEVENT0000000000000', trigger: 'doorbell', startedAt: Date.parse('2026-11-30T10:00:00Z'), source: { door: 'front' } };
const verdict = (status: string, names: string[]) => ({
  status,
  people: names.map((name, i) => ({ personId: i + 1, name, list: status === 'blacklisted' ? 'blacklist' : 'known', distance: 0.3 })),
  framesSeen: 3,
  decidedAt: event.startedAt + 800,
  latencyMs: 800,
});

describe('notification examples (their function and http request nodes in a Node-RED runtime)', function () {
  this.timeout(30_000);
  afterEach(() => helper.unload());

  it('webhook: POSTs {verdict, door, names, eventId, at, latencyMs} as JSON to the configured URL, without the picture', async () => {
    const received: { method?: string; type?: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ method: req.method, type: req.headers['content-type'], body });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const flow = pick('notify-webhook', ['pl_webhook_body', 'pl_webhook_post'], { pl_webhook_body: 'pl_webhook_post' });
      const post = flow.find((n) => n.id === 'pl_webhook_post')!;
      assert.match(String(post.url), /^http:\/\//, 'the example ships a placeholder URL');
      post.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      await helper.load([core('function/10-function.js'), core('network/21-httprequest.js')], flow);
      const answer = nextMessage<any>(helper.getNode('pl_webhook_post_out'));
      helper.getNode('pl_webhook_body').receive({ payload: Buffer.alloc(1000), verdict: verdict('unknown', []), event });
      assert.equal((await answer).statusCode, 200);
      assert.equal(received.length, 1);
      assert.equal(received[0].method, 'POST');
      assert.match(received[0].type ?? '', /^application\/json/);
      assert.deepEqual(JSON.parse(received[0].body), { verdict: 'unknown', door: 'front', names: [], eventId: event.id, at: '2026-11-30T10:00:00.000Z', latencyMs: 800 });
    } finally {
      server.close();
    }
  });
});

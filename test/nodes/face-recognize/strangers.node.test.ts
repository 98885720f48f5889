import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { healthReport } from '../../../lib/metrics/health';
import { acquireSharedStore } from '../../../lib/match/shared-store';
import type { PoolLease } from '../../../lib/workers/pool';
import { helper } from '../../support/node-red';
import { referenceOnnxEngine } from '../../support/onnx-models';
import { lfwDir, lfwPeople, nodeFile } from '../../support/paths';
import { enrolledDb, lfwFaces } from '../../support/enrolled-db';
import { waitUntil } from '../../support/wait';

const engineNode = require(nodeFile('porchlight-engine'));
const dbNode = require(nodeFile('porchlight-db'));
const recognizeNode = require(nodeFile('face-recognize'));

const ENGINE = referenceOnnxEngine();
const REQUEST = { detector: 'yunet', detectorConfig: { modelPath: ENGINE.detectorModel }, recognizer: 'onnx', recognizerConfig: { modelPath: ENGINE.recognizerModel } };

describe('face-recognize: the distance in force, from "strangers let through" (Node-RED runtime, YuNet + MobileFaceNet)', function () {
  this.timeout(600_000);
  const people = lfwPeople().filter((p) => fs.readdirSync(path.join(lfwDir, p)).length >= 2).slice(0, 4);
  let dir: string;
  let dbFile: string;
  let lease: PoolLease;
  const flow = (extra: Record<string, unknown>) => [
    ENGINE,
    { id: 'db', type: 'porchlight-db', file: dbFile, snapshotDir: path.join(dir, 'snapshots') },
    { id: 'fr', type: 'porchlight-face-recognize', engine: 'eng', db: 'db', tolerance: '', margin: 0.05, burstFrames: 1, burstMs: 2000, wires: [[], [], [], []], ...extra },
  ];

  /** Two photos of a person, embedded by the engine's pipeline. */
  const facesOf = (person: string) => lfwFaces(lease, person, REQUEST);

  /** Waits for the node's status text to match. */
  async function statusMatching(pattern: RegExp): Promise<string> {
    const node = helper.getNode('fr') as unknown as { lastStatus?: string };
    return waitUntil(() => (node.lastStatus && pattern.test(node.lastStatus) ? node.lastStatus : undefined), {
      timeout: 120_000,
      interval: 200,
      message: () => `a status matching ${pattern}; last: ${node.lastStatus}`,
    });
  }

  /** Waits for the node's log (the debug sidebar's detail of its short status) to say something matching. */
  async function detailMatching(pattern: RegExp): Promise<string> {
    const node = helper.getNode('fr') as unknown as { logged?: string[] };
    return waitUntil(() => [...(node.logged ?? [])].reverse().find((l) => pattern.test(l)), {
      timeout: 120_000,
      interval: 200,
      message: () => `a log line matching ${pattern}; logged: ${JSON.stringify(node.logged)}`,
    });
  }

  async function load(extra: Record<string, unknown> = {}): Promise<void> {
    await helper.load([engineNode, dbNode, recognizeNode], flow(extra));
    const node = helper.getNode('fr') as unknown as { status: (s: { text?: string }) => void; log: (l: unknown) => void; lastStatus?: string; logged: string[] };
    const original = node.status.bind(node);
    node.status = (s) => {
      node.lastStatus = s.text;
      original(s);
    };
    node.logged = [];
    const log = node.log.bind(node);
    node.log = (line) => {
      node.logged.push(String(line));
      log(line);
    };
  }

  before(async () => {
    // Three people with two photos each: the gallery the distance is for.
    ({ dir, dbFile, lease } = await enrolledDb('porchlight-strangers-', async (store, pool) => {
      for (const person of people.slice(0, 3)) await store.enroll(person, await lfwFaces(pool, person, REQUEST), { list: 'known' });
    }));
  });

  after(async () => {
    await helper.unload();
    await lease.release();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => helper.unload());

  it('shows the distance for the setting and the gallery in its status and in /porchlight/health, and follows an enrolment', async () => {
    await load({ strangers: '1000' });
    // Short under the node, the distance in the sidebar's log.
    assert.equal(await statusMatching(/^ready · /), 'ready · 1 in 1,000 · 3 people');
    const text = await detailMatching(/^ready: distance/);
    const [, distance] = /^ready: distance (\d\.\d\d) for 1 in 1,000 · 3 people$/.exec(text) ?? [];
    assert.ok(distance, text);
    const health = (await healthReport()).components['recognize:fr'];
    assert.equal(health.ok, true);
    assert.equal(health.strangersOneIn, 1000);
    assert.equal(health.people, 3);
    assert.equal((health.distance as number).toFixed(2), distance);
    assert.match(String(health.tolerance), /^distance \d\.\d\d for 1 in 1,000 · 3 people$/);

    // A fourth person enrolled in the same database (the process-wide store the node uses): a stricter distance, no redeploy.
    const shared = await acquireSharedStore({ file: dbFile });
    try {
      await shared.store.enroll(people[3], await facesOf(people[3]), { list: 'known' });
    } finally {
      await shared.release();
    }
    assert.equal(await statusMatching(/ · 4 people$/), 'ready · 1 in 1,000 · 4 people');
    const four = await detailMatching(/ · 4 people$/);
    const stricter = Number(/distance (\d\.\d\d)/.exec(four)![1]);
    assert.ok(stricter < Number(distance), `${stricter} vs ${distance}`);
  });

  it('a rarer setting is stricter; a raw distance in the dialog overrides the setting', async () => {
    await load({ strangers: '1000' });
    const common = Number(/distance (\d\.\d\d)/.exec(await detailMatching(/^ready: distance/))![1]);
    await helper.unload();
    await load({ strangers: '100000' });
    assert.match(await statusMatching(/^ready · /), /^ready · 1 in 100,000 · \d people$/);
    const rare = await detailMatching(/^ready: distance/);
    assert.match(rare, /for 1 in 100,000 · \d people$/);
    assert.ok(Number(/distance (\d\.\d\d)/.exec(rare)![1]) < common);
    await helper.unload();
    await load({ strangers: '1000', tolerance: 0.9 });
    assert.equal(await statusMatching(/^ready · distance/), 'ready · distance 0.9 by hand');
    assert.equal(await detailMatching(/^ready: distance/), 'ready: distance 0.9 (set by hand)');
    assert.equal((await healthReport()).components['recognize:fr'].distance, 0.9);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newEventId } from '../lib/events/event-id';
import { demoPhoto } from './support/images';
import { helper, nextMessage } from './support/node-red';
import { nodeFile } from './support/paths';

const dbNode = require(nodeFile('porchlight-db'));
const eventLogNode = require(nodeFile('event-log'));

describe('reliability: faults', function () {
  this.timeout(120_000);
  let dir: string;
  let snapshotDir: string;
  const originalWriteFile = fsPromises.writeFile;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-faults-'));
    snapshotDir = path.join(dir, 'snapshots');
    await helper.load([dbNode, eventLogNode], [
      { id: 'db', type: 'porchlight-db', file: path.join(dir, 'porchlight.db'), snapshotDir },
      { id: 'el', type: 'event-log', db: 'db', wires: [[], ['recorded']] },
      { id: 'recorded', type: 'helper' },
    ]);
  });

  afterEach(async () => {
    fsPromises.writeFile = originalWriteFile;
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A whole doorbell event into the event log: one frame with a face, then its verdict; resolves with what the log recorded. */
  async function doorbellEvent(): Promise<Record<string, any>> {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    const faces = [{ box: { x: 400, y: 300, width: 200, height: 240 }, score: 0.9, quality: { score: 0.8 } }];
    const el = helper.getNode('el');
    const recorded = nextMessage<Record<string, any>>(helper.getNode('recorded'));
    el.receive({ event, payload: demoPhoto(1), faces });
    el.receive({ event, faces, verdict: { status: 'unknown', people: [], framesSeen: 1, decidedAt: Date.now(), latencyMs: 120 } });
    return (await recorded).eventLog;
  }

  it('snapshot disk full (ENOSPC): the event is still recorded, says why it has no snapshot, and the next one has its snapshot once there is room', async () => {
    let refused = 0;
    fsPromises.writeFile = (async (file: Parameters<typeof originalWriteFile>[0], ...rest: unknown[]) => {
      if (String(file).startsWith(snapshotDir)) {
        refused++;
        throw Object.assign(new Error(`ENOSPC: no space left on device, open '${String(file)}'`), { code: 'ENOSPC', errno: -28 });
      }
      return (originalWriteFile as (...a: unknown[]) => Promise<void>)(file, ...rest);
    }) as typeof originalWriteFile;

    const statuses: string[] = [];
    helper.getNode('el').on('call:status', (call: { args: [{ text?: string }] }) => statuses.push(call.args[0]?.text ?? ''));
    const full = await doorbellEvent();
    assert.ok(statuses.some((text) => text.includes('no snapshot: snapshot failed: ENOSPC')), `the status says why: ${statuses.join(' | ')}`);
    assert.ok(refused > 0, 'the snapshot write met the full disk');
    assert.deepEqual([full.status, full.verdict, full.hasSnapshot], ['completed', 'unknown', false]);
    const stored = await helper.request().get(`/porchlight/events/${full.id}`).expect(200);
    assert.equal(stored.body.verdict, 'unknown', 'the verdict is kept without its picture');
    await helper.request().get(`/porchlight/events/${full.id}/snapshot.jpg`).expect(404);
    assert.deepEqual(fs.existsSync(snapshotDir) ? fs.readdirSync(snapshotDir) : [], [], 'no half-written file left behind');

    fsPromises.writeFile = originalWriteFile;
    const roomy = await doorbellEvent();
    assert.deepEqual([roomy.status, roomy.hasSnapshot], ['completed', true]);
    const snapshot = await helper.request().get(`/porchlight/events/${roomy.id}/snapshot.jpg`).expect(200);
    assert.equal(snapshot.body[0], 0xff, 'a JPEG');
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { newEventId } from '../../lib/events/event-id';
import { EventLog } from '../../lib/eventlog/event-log';
import { SqliteStore } from '../../lib/store';
import { demoPhoto } from '../support/images';
import { helper } from '../support/node-red';
import { nodeFile, repoRoot } from '../support/paths';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
/** Runs a command as root without the capabilities that let root read and write through any file mode. */
const WITHOUT_DAC = ['--inh-caps=-dac_override,-dac_read_search', '--bounding-set=-dac_override,-dac_read_search', '--'];

/**
 * Who plays the user that may not write the database: this user when the
 * tests do not run as root; as root, root itself without CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH (`setpriv`), to whom file modes apply as to any owner;
 * `nobody` only where setpriv is missing. `nobody` cannot load the test's
 * own code from a clone in a folder only its owner may enter (a `mktemp -d`
 * folder, mode 0700), which failed the tests there.
 */
const reader: 'self' | 'root-without-dac' | 'nobody' = !asRoot
  ? 'self'
  : spawnSync('setpriv', [...WITHOUT_DAC, process.execPath, '-e', '0']).status === 0
    ? 'root-without-dac'
    : 'nobody';

/** Hands a folder to the reader process (already its own unless it is `nobody`). */
function giveToReader(folder: string): void {
  if (reader === 'nobody') fs.chownSync(folder, NOBODY, NOBODY);
}

interface ChildReport {
  query: string;
  write: string;
  list: string;
  pressed: boolean;
  statuses: { el: string[]; fdb: string[] };
}

/** Runs test/support/read-only-db-child.ts on `file` as the reader (see `reader`), who cannot write it. */
function runAsReader(file: string, snapshotDir: string, home: string): ChildReport {
  const command = [process.execPath, path.join(repoRoot, 'dist', 'test', 'support', 'read-only-db-child.js'), file, snapshotDir];
  if (reader === 'root-without-dac') command.unshift('setpriv', ...WITHOUT_DAC);
  const child = spawnSync(command[0], command.slice(1), {
    cwd: repoRoot, // the test helper finds Node-RED from here
    env: { ...process.env, HOME: home },
    encoding: 'utf8',
    timeout: 90_000,
    ...(reader === 'nobody' ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  assert.equal(child.status, 0, `the reader process failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildReport;
}

describe('reliability: events never left hanging, read-only database', function () {
  this.timeout(120_000);
  let dir: string;

  beforeEach(() => {
    dir = tempDir('porchlight-events-');
    fs.chmodSync(dir, 0o755);
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the event log closing mid-event (a redeploy) records its unfinished events failed with the reason, at once', async () => {
    const file = path.join(dir, 'porchlight.db');
    const flow = [
      { id: 'db', type: 'porchlight-db', file, snapshotDir: path.join(dir, 'snapshots') },
      { id: 'el', type: 'porchlight-event-log', db: 'db', wires: [[], []] },
    ];
    await helper.load([require(nodeFile('porchlight-db')), require(nodeFile('event-log'))], flow);
    const pressed = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    const framed = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    const finished = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    const el = helper.getNode('el');
    el.receive({ event: pressed });
    el.receive({ event: framed, payload: demoPhoto(1), faces: [] });
    el.receive({ event: finished });
    el.receive({ event: finished, verdict: { status: 'no_face', people: [], framesSeen: 1, decidedAt: Date.now(), latencyMs: 50 } });
    const get = async (id: string) => (await helper.request().get(`/porchlight/events/${id}`)).body;
    await waitUntil(async () => (await get(finished.id)).status === 'completed', { timeout: 20_000, interval: 50, message: 'the finished event completed' });
    assert.deepEqual([(await get(pressed.id)).status, (await get(framed.id)).status], ['created', 'processing']);

    const closedAt = Date.now();
    await helper.setFlows(flow, 'full');
    const after = await Promise.all([pressed, framed, finished].map((e) => get(e.id)));
    assert.deepEqual(
      after.map((e) => [e.status, e.errorMessage]),
      [
        ['failed', 'node closed/redeployed before the verdict'],
        ['failed', 'node closed/redeployed before the verdict'],
        ['completed', null],
      ],
    );
    assert.ok(after[0].completedAt >= closedAt, 'failed when the node closed');
    // A verdict arriving after all (only the log was redeployed) still completes the event.
    helper.getNode('el').receive({ event: framed, verdict: { status: 'unknown', people: [], framesSeen: 3, decidedAt: Date.now(), latencyMs: 900 } });
    await waitUntil(async () => (await get(framed.id)).status === 'completed', { timeout: 20_000, interval: 50, message: 'the late verdict completing the event' });
    assert.equal((await get(framed.id)).verdict, 'unknown');
  });

  it('the camera stalled at the press: a burst that gets no frame fails the event with the reason (via the Catch node), one that gets some is sent on time', async () => {
    const file = path.join(dir, 'porchlight.db');
    await helper.load([require(nodeFile('porchlight-db')), require(nodeFile('event-log')), require(nodeFile('frame-buffer')), require('@node-red/nodes/core/common/25-catch.js')], [
      { id: 'tab', type: 'tab' },
      { id: 'db', type: 'porchlight-db', file, snapshotDir: path.join(dir, 'snapshots') },
      { id: 'fb', type: 'porchlight-frame-buffer', z: 'tab', source: 'msg', preRoll: 0, burstCount: 3, burstInterval: 100, output: 'each', wires: [['frames']] },
      { id: 'el', type: 'porchlight-event-log', z: 'tab', db: 'db', wires: [[], ['recorded']] },
      { id: 'catchAll', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['el']] },
      { id: 'frames', type: 'helper', z: 'tab' },
      { id: 'recorded', type: 'helper', z: 'tab' },
    ]);
    const press = (event: object) => {
      helper.getNode('el').receive({ event }); // the doorbell flow wires the press to the log and the camera
      helper.getNode('fb').receive({ event });
    };
    const stalled = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    const failed = new Promise<Record<string, any>>((resolve) => helper.getNode('recorded').on('input', (msg: any) => msg.eventLog.id === stalled.id && resolve(msg.eventLog)));
    const started = Date.now();
    press(stalled); // no frame arrives after it
    const record = await failed;
    assert.equal(record.status, 'failed');
    assert.ok(Date.now() - started < 2_000, 'within the burst time, not at the sweep');
    const stored = (await helper.request().get(`/porchlight/events/${stalled.id}`)).body;
    assert.match(stored.errorMessage, /^PorchlightError: frame-buffer: no frame to send for event \S+ \(no frames buffered\) \(from frame-buffer\)$/);

    // The camera sends one frame and stalls again: the burst is sent on time with what it got.
    const partial = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    const frames: Array<Record<string, any>> = [];
    helper.getNode('frames').on('input', (msg: any) => frames.push(msg));
    press(partial);
    await new Promise((resolve) => setTimeout(resolve, 50));
    helper.getNode('fb').receive({ payload: demoPhoto(1) });
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(frames.map((f) => f.event.id), [partial.id], 'the one frame it got, once');
  });

  /** A database with one recorded event, made by root (or this user) before it becomes read-only. */
  async function databaseWithOneEvent(file: string): Promise<void> {
    const store = new SqliteStore(file);
    const log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots') });
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    await log.record({ event, verdict: { status: 'no_face', people: [], framesSeen: 1, decidedAt: Date.now(), latencyMs: 40 } });
    await log.stop();
    await store.close();
  }

  /**
   * A database with one recorded event, made read-only (its folder too unless
   * `folderWritable`), then used by Node-RED in the reader process.
   */
  async function readOnlyRun(folderWritable: boolean): Promise<{ file: string; report: ChildReport }> {
    const folder = path.join(dir, 'data');
    fs.mkdirSync(folder);
    const file = path.join(folder, 'porchlight.db');
    await databaseWithOneEvent(file);
    fs.chmodSync(file, 0o444);
    if (folderWritable) giveToReader(folder); // the reader may create the write-ahead log beside the file, not write the file
    else fs.chmodSync(folder, 0o555);
    const home = tempDir('home-', dir);
    giveToReader(home);
    try {
      return { file, report: runAsReader(file, path.join(home, 'snapshots'), home) };
    } finally {
      fs.chmodSync(folder, 0o755); // to clean up
    }
  }

  it('a read-only database file in a writable folder: reads work, writes answer a clear error, Node-RED keeps running', async () => {
    const { file, report } = await readOnlyRun(true);
    assert.equal(report.query, '1 event(s)', 'the recorded event can still be read');
    assert.equal(report.list, '0 people');
    assert.equal(report.write, `read-only database: ${file} (attempt to write a readonly database): give Node-RED write access to the file`);
    assert.ok(report.statuses.el.some((s) => s === 'red: database read-only'), report.statuses.el.join(' | '));
    assert.ok(report.pressed, 'a doorbell in the same runtime still presses');
    assert.equal(fs.statSync(file).mode & 0o777, 0o444);
  });

  it('a database in a read-only folder (no write-ahead log possible): a clear status on every node, writes answer it, Node-RED keeps running', async () => {
    const { file, report } = await readOnlyRun(false);
    const explained = `read-only database: ${file} (attempt to write a readonly database): give Node-RED write access to its folder`;
    assert.equal(report.write, explained);
    assert.equal(report.query, explained);
    assert.equal(report.list, explained);
    for (const shown of [report.statuses.el, report.statuses.fdb]) {
      assert.ok(shown.some((s) => s === 'red: database read-only'), shown.join(' | '));
    }
    assert.ok(report.pressed, 'a doorbell in the same runtime still presses');
  });
});

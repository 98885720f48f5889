import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startNodeRedWithAuth, type EmbeddedNodeRed } from '../support/embedded-node-red';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

/**
 * An acknowledged press is never lost: gpio-doorbell's press route answers
 * 200 only once the event log has committed the press to SQLite. Proved on a
 * real Node-RED in a child process, killed with SIGKILL the moment the answer
 * arrives, and on a file system filled to the last byte (root only: tmpfs).
 */

const NODES = ['porchlight-db', 'gpio-doorbell', 'event-log'];
const isRoot = process.getuid?.() === 0;

interface Answer {
  status: number;
  body: { event?: { id: string }; logged?: boolean; retrying?: boolean; error?: { code: string; message: string }; reason?: string };
}

/** The database and snapshots beside `file`, outside Node-RED's user dir (each start has a fresh one). */
function flows(file: string): object[] {
  return [
    { id: 'tab', type: 'tab', label: 'presses' },
    { id: 'db', type: 'porchlight-db', file, snapshotDir: path.join(path.dirname(file), 'snapshots') },
    { id: 'bell', type: 'porchlight-gpio-doorbell', z: 'tab', backend: 'simulated', cooldown: 0, wires: [['el'], []] },
    { id: 'el', type: 'porchlight-event-log', z: 'tab', db: 'db', wires: [[], []] },
  ];
}

/** Node-RED in a child process, without adminAuth, on the database `file`. */
function start(file: string): Promise<EmbeddedNodeRed> {
  return startNodeRedWithAuth(NODES, () => flows(file), { adminAuth: false });
}

/** POSTs a press; `onAnswer` runs as soon as the answer's status line and headers are in, before its body is read. */
function press(proc: EmbeddedNodeRed, onAnswer: () => void = () => undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${proc.base}porchlight/doorbell/bell/press`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      onAnswer();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ holdMs: 1 }));
  });
}

/** Ids of the events in the file, read as a restarted Node-RED would (WAL recovery on open). */
function storedIds(file: string): Map<string, string> {
  const db = new Database(file);
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    return new Map((db.prepare('SELECT id, status FROM events').all() as Array<{ id: string; status: string }>).map((r) => [r.id, r.status]));
  } finally {
    db.close();
  }
}

async function health(proc: EmbeddedNodeRed): Promise<{ status: number; body: { ok: boolean; status: string; reasons: string[] } }> {
  const res = await fetch(`${proc.base}porchlight/health`);
  return { status: res.status, body: (await res.json()) as { ok: boolean; status: string; reasons: string[] } };
}

describe('press durability (a real Node-RED child process)', function () {
  this.timeout(600_000);
  let dir: string;
  let proc: EmbeddedNodeRed | undefined;

  beforeEach(() => {
    dir = tempDir('porchlight-press-');
  });

  afterEach(async () => {
    await proc?.kill('SIGKILL');
    await proc?.stop();
    proc = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL 0 ms after each 200: 0 of 20 acknowledged presses lost', async () => {
    const file = path.join(dir, 'porchlight.db');
    const acknowledged: string[] = [];
    for (let round = 0; round < 20; round++) {
      proc = await start(file);
      await proc.waitFor('porchlight/events');
      const running = proc;
      let exited: Promise<void> | undefined;
      const answer = await press(running, () => (exited = running.kill('SIGKILL')));
      await exited;
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.logged, true);
      acknowledged.push(answer.body.event!.id);
    }
    const stored = storedIds(file);
    const lost = acknowledged.filter((id) => !stored.has(id));
    console.log(`      SIGKILL at 0 ms after the answer: ${acknowledged.length} presses acknowledged, ${lost.length} lost`);
    assert.deepEqual(lost, []);
  });

  it('without an event-log wired after the doorbell the route says 202 logged:false, not 200', async () => {
    const file = path.join(dir, 'porchlight.db');
    const unwired = flows(file).map((n) => ((n as { id: string }).id === 'bell' ? { ...n, wires: [[], []] } : n));
    proc = await startNodeRedWithAuth(NODES, () => unwired, { adminAuth: false });
    await proc.waitFor('porchlight/events');
    const answer = await press(proc);
    assert.equal(answer.status, 202);
    assert.equal(answer.body.logged, false);
    assert.match(answer.body.reason!, /no event-log node is wired/);
  });

  describe('a full file system (tmpfs, as root)', () => {
    let disk: string;

    beforeEach(function () {
      if (!isRoot) {
        console.log('      skipped: mounting a tmpfs needs root');
        this.skip();
      }
      disk = path.join(dir, 'disk');
      fs.mkdirSync(disk);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', disk]);
    });

    afterEach(async () => {
      if (!isRoot) return;
      await proc?.kill('SIGKILL');
      await proc?.stop();
      proc = undefined;
      execFileSync('umount', ['-l', disk]);
    });

    /** Writes a filler file until the file system refuses another byte. */
    function fill(target: string): void {
      const fd = fs.openSync(target, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
          for (;;) {
            try {
              fs.writeSync(fd, chunk, 0, size);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
              break;
            }
          }
        }
      } finally {
        fs.closeSync(fd);
      }
    }

    it('0 acknowledged presses lost; refused ones answer 503, are kept and stored once space is freed; health says why', async () => {
      const file = path.join(disk, 'porchlight.db');
      proc = await start(file);
      await proc.waitFor('porchlight/events');
      assert.equal((await press(proc)).status, 200, 'a press before the disk is full');
      assert.equal((await health(proc)).status, 200);

      fill(path.join(disk, 'filler'));
      const answers: Answer[] = [];
      for (let i = 0; i < 40; i++) answers.push(await press(proc));
      const acknowledged = answers.filter((a) => a.status === 200).map((a) => a.body.event!.id);
      const refused = answers.filter((a) => a.status === 503);
      assert.equal(acknowledged.length + refused.length, answers.length, `only 200 or 503: ${answers.map((a) => a.status).join(' ')}`);
      assert.ok(refused.length > 0, 'the full disk refused no press: the test did not fill it');
      for (const r of refused) {
        assert.equal(r.body.error!.code, 'NOT_STORED');
        assert.match(r.body.error!.message, /full/);
        assert.equal(r.body.retrying, true);
      }

      const full = await health(proc);
      assert.equal(full.status, 503);
      assert.equal(full.body.status, 'degraded');
      const why = full.body.reasons.join('\n');
      assert.match(why, /disk full/);
      assert.match(why, /SQLITE_FULL/);
      assert.match(why, /wait in memory/);

      fs.rmSync(path.join(disk, 'filler'));
      const refusedIds = refused.map((r) => r.body.event!.id);
      let stored = storedIds(file);
      await waitUntil(
        () => {
          stored = storedIds(file);
          return refusedIds.every((id) => stored.has(id));
        },
        { timeout: 30_000, interval: 250, message: () => `the kept presses stored (${refusedIds.filter((id) => !stored.has(id)).length} of ${refusedIds.length} missing)` },
      );
      assert.equal((await health(proc)).status, 200, 'healthy again once the space is back and the kept events are stored');
      await proc.kill('SIGKILL');
      stored = storedIds(file);
      const lost = acknowledged.filter((id) => !stored.has(id));
      const keptLost = refusedIds.filter((id) => !stored.has(id));
      console.log(
        `      full disk: ${answers.length} presses, ${acknowledged.length} answered 200 (${lost.length} lost), ${refused.length} answered 503 (stored after space was freed: ${refusedIds.length - keptLost.length})`,
      );
      assert.deepEqual(lost, []);
      assert.deepEqual(keptLost, []);
      for (const id of refusedIds) assert.equal(stored.get(id), 'failed', 'a refused press is recorded failed, with why');
    });

    it('health is degraded, with the reason, when the database sits on a read-only file system', async () => {
      const file = path.join(disk, 'porchlight.db');
      proc = await start(file);
      await proc.waitFor('porchlight/events');
      assert.equal((await press(proc)).status, 200);
      await proc.stop();
      execFileSync('mount', ['-o', 'remount,ro', disk]);
      proc = await start(file);
      await proc.waitFor('porchlight/events').catch(() => undefined);
      const report = await health(proc);
      assert.equal(report.status, 503, JSON.stringify(report.body));
      assert.match(report.body.reasons.join('\n'), /read-only/);
      const answer = await press(proc);
      assert.notEqual(answer.status, 200, 'a press on a read-only database is not acknowledged as stored');
    });
  });
});

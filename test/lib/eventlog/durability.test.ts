import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EventLog } from '../../../lib/eventlog/event-log';
import { newEventId } from '../../../lib/events/event-id';
import { openSqliteStore } from '../../../lib/store';
import { tempDir } from '../../support/temp';

/**
 * The child: records completed events with faces in a loop on the store as
 * Node-RED would open it (WAL, the store's synchronous setting), printing
 * each id only after its verdict was committed.
 */
async function writeEventsForever(file: string, snapshotDir: string): Promise<void> {
  const store = openSqliteStore(file);
  const log = new EventLog({ db: store.db, snapshotDir });
  for (;;) {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'durability' } };
    await log.record({ event });
    await log.record({
      event,
      verdict: { status: 'unknown', people: [], framesSeen: 3, latencyMs: 250 },
      faces: [{ box: { x: 10, y: 20, width: 80, height: 96 }, score: 0.93, crop: randomBytes(4096), match: { name: null, list: null, distance: 0.9 } }],
    });
    fs.writeSync(1, `${event.id}\n`);
  }
}

if (require.main === module) {
  writeEventsForever(process.argv[2], process.argv[3]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  describe('event log durability (SIGKILL while writing)', function () {
    this.timeout(120_000);
    let dir: string;

    beforeEach(() => {
      dir = tempDir('porchlight-durability-');
    });

    afterEach(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Runs the writer until it has reported `atLeast` ids plus a random moment more, kills it, and returns every id it reported. */
    function writeThenKill(file: string, atLeast: number): Promise<string[]> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [__filename, file, path.join(dir, 'snapshots')], { stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        let stderr = '';
        let killing = false;
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.stdout.on('data', (chunk) => {
          text += chunk;
          if (!killing && text.split('\n').length > atLeast) {
            killing = true;
            setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 40));
          }
        });
        child.on('exit', (_code, signal) => {
          if (signal !== 'SIGKILL') return reject(new Error(`writer exited on its own: ${stderr}`));
          // Only complete lines count: a line cut by the kill was never fully reported.
          resolve(text.split('\n').slice(0, -1));
        });
      });
    }

    it('keeps every event whose write returned, and the file passes integrity_check', async () => {
      const file = path.join(dir, 'porchlight.db');
      const reported: string[] = [];
      for (let round = 0; round < 3; round++) {
        reported.push(...(await writeThenKill(file, 300 + round * 200)));
        const store = openSqliteStore(file);
        try {
          assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
          assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
          const stored = new Set((store.db.prepare("SELECT id FROM events WHERE status = 'completed'").all() as Array<{ id: string }>).map((r) => r.id));
          const lost = reported.filter((id) => !stored.has(id));
          assert.deepEqual(lost, [], `round ${round}: ${lost.length} of ${reported.length} reported events lost`);
          const faces = store.db.prepare('SELECT count(*) AS n FROM event_faces WHERE length(crop) = 4096').get() as { n: number };
          assert.ok(faces.n >= reported.length, 'each reported event has its face and crop');
        } finally {
          await store.close();
        }
      }
      assert.ok(reported.length >= 1200);
    });
  });
}

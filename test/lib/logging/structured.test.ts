import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EventLog } from '../../../lib/eventlog/event-log';
import { newEventId } from '../../../lib/events/event-id';
import { attachStructuredLog, structuredLogEnabled, type StructuredLine } from '../../../lib/logging/structured';
import { openSqliteStore } from '../../../lib/store';
import { tempDir } from '../../support/temp';

/** lib/logging/structured.ts: a JSON line per event transition and error, off unless asked for. */
describe('structured logs', () => {
  it('is off by default, on from settings.js or PORCHLIGHT_JSON_LOG', () => {
    assert.equal(structuredLogEnabled(undefined, {}), false);
    assert.equal(structuredLogEnabled({ porchlight: { jsonLog: 'yes' } }, {}), false);
    assert.equal(structuredLogEnabled({ porchlight: { jsonLog: true } }, {}), true);
    assert.equal(structuredLogEnabled({}, { PORCHLIGHT_JSON_LOG: '1' }), true);
  });

  it('writes one line per transition of a real event log, with event id, door, stage and timings', async () => {
    const dir = tempDir('porchlight-jsonlog-');
    const store = openSqliteStore(path.join(dir, 'p.db'));
    const log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots'), door: 'front' });
    const lines: StructuredLine[] = [];
    const detach = attachStructuredLog(log, (line) => lines.push(JSON.parse(line)));
    try {
      const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now() - 50, source: { node: 'bell' } };
      await log.record({ event });
      await log.record({ event, faces: [], detection: { latencyMs: 42 }, frame: { seq: 0 } });
      await log.record({ event, verdict: { status: 'no_face', people: [], decidedAt: Date.now(), latencyMs: 180 } });
      const other = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
      await log.record({ event: other });
      await log.record({ event: other, error: { message: 'camera stalled', source: { type: 'porchlight-frame-buffer' } } });
      assert.deepEqual(lines.map((l) => [l.transition, l.eventId === event.id ? 'a' : 'b', l.door, l.stage, l.level]), [
        ['created', 'a', 'front', 'doorbell', 'info'],
        ['processing', 'a', 'front', 'face-detect', 'info'],
        ['completed', 'a', 'front', 'face-recognize', 'info'],
        ['created', 'b', 'front', 'doorbell', 'info'],
        ['failed', 'b', 'front', 'frame-buffer', 'error'],
      ]);
      assert.equal(lines[1].timings?.detectionMs, 42);
      assert.equal(lines[2].timings?.latencyMs, 180);
      assert.equal(lines[2].verdict, 'no_face');
      assert.ok((lines[2].timings?.sinceStartMs ?? -1) >= 50);
      assert.equal(lines[4].error, 'camera stalled');
      assert.ok(lines.every((l) => !Number.isNaN(Date.parse(l.ts))));
      detach();
      await log.record({ event: { ...other, id: newEventId() } });
      assert.equal(lines.length, 5, 'wrote after detach');
    } finally {
      await log.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

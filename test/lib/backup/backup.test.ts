import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sinon from 'sinon';
import { backupDatabase, DailySchedule, integrityOf, listBackups, nextDailyRun, parseDailyTime, restoreDatabase, tableCounts } from '../../../lib/backup';
import { EventLog } from '../../../lib/eventlog/event-log';
import { newEventId } from '../../../lib/events/event-id';
import { metricsText } from '../../../lib/metrics';
import { healthReport } from '../../../lib/metrics/health';
import { openSqliteStore, type SqliteStore } from '../../../lib/store';
import { main } from '../../../cli/porchlight';
import { parseBackupDef, startBackupSchedule } from '../../../nodes/porchlight-db/backup-schedule';
import { PorchlightDb } from '../../../nodes/shared/db';
import { randomFace } from '../../support/store-contract';
import { tempDir } from '../../support/temp';
import { waitUntil } from '../../support/wait';

/** A face with a crop of `kb` KB (the pages a backup copies in steps). */
const faceWithCrop = (kb: number) => randomFace(128, { crop: Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(kb * 1024, Math.floor(Math.random() * 256)), Buffer.from([0xff, 0xd9])]) });

const press = () => ({ event: { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test' } } });

describe('backups (lib/backup, porchlight-db schedule, CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  let store: SqliteStore;
  let log: EventLog;
  const dbFile = () => path.join(dir, 'porchlight.db');

  beforeEach(async () => {
    dir = tempDir('porchlight-backup-');
    store = openSqliteStore(dbFile());
    log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots') });
    await store.enroll('Alice', [faceWithCrop(8), faceWithCrop(8)]);
    await store.enroll('Mallory', [faceWithCrop(8)], { list: 'blacklist' });
    for (let i = 0; i < 5; i++) await log.record(press());
  });

  afterEach(async () => {
    sinon.restore();
    await log.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('backs up online while events are written, verified (integrity ok, counts equal), and rotates', async () => {
    // About 1.5 MB of crops: the backup takes several steps of 100 pages, with the event loop free between.
    for (let i = 0; i < 40; i++) await store.enroll(`P${i}`, [faceWithCrop(36)]);
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await log.record(press());
        written++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const folder = path.join(dir, 'backups');
    const result = await backupDatabase(store.db, folder, { keep: 3 });
    writing = false;
    await writer;
    assert.ok(written > 0, 'no event was written while the backup ran: not shown online');
    const check = integrityOf(result.file);
    assert.equal(check.ok, true, check.detail);
    assert.deepEqual(check.counts, result.counts);
    assert.equal(result.counts.people, 42);
    assert.ok(result.counts.events >= 5 && result.counts.events <= 5 + written, JSON.stringify(result.counts));
    assert.ok(!fs.readdirSync(folder).some((f) => f.endsWith('.partial')));

    // Rotation: the newest 3 of 5 stay; a file of another name is never touched.
    fs.writeFileSync(path.join(folder, 'notes.txt'), 'mine');
    const days = [2, 3, 4, 5].map((d) => new Date(2030, 0, d, 3, 0, 0));
    const later = [];
    for (const day of days) later.push(await backupDatabase(store.db, folder, { keep: 3, now: () => day }));
    assert.deepEqual(listBackups(folder).map((b) => path.basename(b.file)), ['porchlight-20300105-030000.db', 'porchlight-20300104-030000.db', 'porchlight-20300103-030000.db']);
    assert.ok(fs.existsSync(path.join(folder, 'notes.txt')));
    assert.deepEqual(later.at(-1)!.removed.map((f) => path.basename(f)), ['porchlight-20300102-030000.db']);
  });

  it('refuses a copy that fails verification and a corrupt backup on restore', async () => {
    const folder = path.join(dir, 'backups');
    const good = await backupDatabase(store.db, folder);
    // A corrupt copy: pages in the middle overwritten.
    const bad = path.join(dir, 'bad.db');
    fs.copyFileSync(good.file, bad);
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 4096);
    fs.closeSync(fd);
    assert.equal(integrityOf(bad).ok, false);
    await assert.rejects(restoreDatabase(bad, store.db), /is not a sound database/);
    fs.writeFileSync(path.join(dir, 'text.db'), 'not a database at all');
    await assert.rejects(restoreDatabase(path.join(dir, 'text.db'), store.db), /is not a sound database/);
    const other = new Database(path.join(dir, 'other.db'));
    other.exec('CREATE TABLE t (x)');
    other.close();
    await assert.rejects(restoreDatabase(path.join(dir, 'other.db'), store.db), /not a Porchlight database/);
    assert.equal((await store.listPeople()).length, 2, 'a refused restore changed the database');
  });

  it('restores a backup into the database in use: the store and the event log see it at once', async () => {
    const backup = await backupDatabase(store.db, path.join(dir, 'backups'));
    const before = tableCounts(store.db);
    // Changes after the backup: a person forgotten, one enrolled, events added.
    await store.forget('Alice');
    await store.enroll('Zed', [faceWithCrop(4)]);
    for (let i = 0; i < 3; i++) await log.record(press());
    assert.notDeepEqual(tableCounts(store.db), before);

    const { counts } = await restoreDatabase(backup.file, store.db);
    assert.deepEqual(counts, before);
    assert.deepEqual(tableCounts(store.db), before);
    assert.deepEqual((await store.listPeople()).map((p) => [p.name, p.list, p.faceCount]).sort(), [['Alice', 'known', 2], ['Mallory', 'blacklist', 1]]);
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    // The connection goes on writing after the restore.
    await log.record(press());
    assert.equal(tableCounts(store.db).events, before.events + 1);
  });

  it('runs daily at the set time with fake timers: backs up, rotates, reports failures, health and metrics', async () => {
    const clock = sinon.useFakeTimers({ now: new Date(2031, 4, 10, 2, 58, 0), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const folder = path.join(dir, 'scheduled');
    const lines: string[] = [];
    const node = { log: (t: string) => lines.push(`log ${t}`), error: (t: string) => lines.push(`error ${t}`) };
    const settings = { backend: 'sqlite' as const, file: dbFile(), snapshotDir: path.join(dir, 'snapshots') };
    const backup = parseBackupDef({ settings: { userDir: dir } } as never, { id: 'x', type: 'porchlight-db', name: '', z: '', backupEnabled: true, backupTime: '03:00', backupKeep: '2', backupFolder: folder } as never)!;
    assert.deepEqual(backup, { time: { hour: 3, minute: 0 }, keep: 2, folder });
    const stop = startBackupSchedule(node as never, new PorchlightDb(settings), backup);
    try {
      const health = async () => (await healthReport()).components[`backup:${dbFile()}`] as Record<string, any>;
      assert.equal((await health()).nextRunAt, new Date(2031, 4, 10, 3, 0, 0).toISOString());
      await clock.tickAsync(60_000); // 02:59: nothing yet
      assert.equal(listBackups(folder).length, 0);
      await clock.tickAsync(60_000); // 03:00
      await waitUntil(() => lines.length === 1, { interval: 0 });
      assert.match(lines[0], /^log backup .*porchlight-20310510-030000\.db: .* MB verified \(.*people 2.*\)/);
      assert.equal((await health()).ok, true);
      assert.equal((await health()).nextRunAt, new Date(2031, 4, 11, 3, 0, 0).toISOString());

      // Three more days: still 2 kept, the newest.
      for (let day = 1; day <= 3; day++) {
        await clock.tickAsync(24 * 3600_000);
        await waitUntil(() => lines.length === 1 + day, { interval: 0 });
      }
      assert.deepEqual(listBackups(folder).map((b) => path.basename(b.file)), ['porchlight-20310513-030000.db', 'porchlight-20310512-030000.db']);
      assert.match(await metricsText(), new RegExp(`porchlight_backup_last_success_timestamp_seconds\\{file="${dbFile().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"\\} ${new Date(2031, 4, 13, 3, 0, 0).getTime() / 1000}`));

      // The folder becomes a file: the next run fails, is logged as an error, and shows in health and metrics.
      fs.rmSync(folder, { recursive: true });
      fs.writeFileSync(folder, 'in the way');
      await clock.tickAsync(24 * 3600_000);
      await waitUntil(() => lines.length === 5, { interval: 0 });
      assert.match(lines[4], /^error scheduled backup of .* failed: /);
      assert.equal((await health()).ok, false);
      assert.match(await metricsText(), /porchlight_backup_failures_total\{file="[^"]+"\} 1/);
    } finally {
      await stop();
    }
    assert.equal((await healthReport()).components[`backup:${dbFile()}`], undefined, 'stopped schedule still in health');
  });

  it('computes the next daily run across midnight and month ends, and refuses a bad time', () => {
    assert.equal(nextDailyRun(new Date(2031, 0, 31, 23, 30), { hour: 3, minute: 0 }).getTime(), new Date(2031, 1, 1, 3, 0).getTime());
    assert.equal(nextDailyRun(new Date(2031, 0, 31, 3, 0), { hour: 3, minute: 0 }).getTime(), new Date(2031, 1, 1, 3, 0).getTime());
    assert.equal(nextDailyRun(new Date(2031, 0, 31, 2, 59, 59), { hour: 3, minute: 0 }).getTime(), new Date(2031, 0, 31, 3, 0).getTime());
    for (const bad of ['25:00', '3', '03:60', 'noon', '']) assert.throws(() => parseDailyTime(bad), /HH:MM/);
    assert.equal(parseBackupDef({ settings: { userDir: dir } } as never, { backupEnabled: false } as never), undefined);
    // A flow that never said (saved before the setting existed): backups on, as the dialog's default, into <user dir>/porchlight/backups.
    for (const unsaid of [{}, { backupEnabled: '' }]) {
      assert.deepEqual(parseBackupDef({ settings: { userDir: dir } } as never, unsaid as never), { time: { hour: 3, minute: 0 }, keep: 7, folder: path.join(dir, 'porchlight', 'backups') });
    }
  });

  it('a schedule stopped mid-run waits for the backup to end', async () => {
    const clock = sinon.useFakeTimers({ now: new Date(2031, 4, 10, 2, 59, 59), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let release!: () => void;
    let ran = 0;
    const schedule = new DailySchedule({ hour: 3, minute: 0 }, async () => {
      ran++;
      await new Promise<void>((resolve) => (release = resolve));
      return { file: 'x', bytes: 0, counts: {}, ms: 0, removed: [] };
    }).start();
    await clock.tickAsync(1_000);
    assert.equal(ran, 1);
    let stopped = false;
    const stopping = schedule.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false);
    release();
    await stopping;
    await clock.tickAsync(48 * 3600_000);
    assert.equal(ran, 1, 'ran again after stop');
  });

  it('porchlight backup and porchlight restore (CLI)', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    const folder = path.join(dir, 'cli-backups');
    assert.equal(await main(['backup', '--db', dbFile(), '--to', folder, '--keep', '2'], io), 0, err.join('\n'));
    const file = out[0];
    assert.ok(file.startsWith(folder) && fs.existsSync(file));
    assert.match(err.join('\n'), /verified: integrity ok; .*events 5.*people 2/);

    await store.forget('Mallory');
    // Restore into a fresh path (Node-RED stopped): the copy comes back whole.
    const target = path.join(dir, 'restored', 'porchlight.db');
    out.length = 0;
    assert.equal(await main(['restore', file, '--db', target], io), 0, err.join('\n'));
    assert.match(out[0], /^restored .* into .*: .*people 2/);
    const restored = openSqliteStore(target);
    try {
      assert.deepEqual((await restored.listPeople()).map((p) => p.name).sort(), ['Alice', 'Mallory']);
    } finally {
      await restored.close();
    }
    // Over an existing file: it is saved first.
    err.length = 0;
    assert.equal(await main(['restore', file, '--db', dbFile()], io), 0, err.join('\n'));
    assert.match(err.join('\n'), /the current database was saved as .*backups[\\/]porchlight-/);
    assert.equal(await main(['restore', path.join(dir, 'missing.db'), '--db', dbFile()], io), 2);
    assert.equal(await main(['backup'], io), 2);
  });
});

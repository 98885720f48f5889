import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PorchlightError } from '../errors';

/**
 * Verified online backups of a Porchlight SQLite file (faces and the event
 * log), rotated in a folder, and their restore.
 *
 * - Online: better-sqlite3's backup API copies pages in steps with the event
 *   loop free between them; writes by the same connection meanwhile are
 *   carried into the copy by SQLite.
 * - Verified: `PRAGMA integrity_check` on the copy is "ok", and every table
 *   has as many rows in the copy as in the database (counted together, in
 *   one synchronous step right after the copy, so no write falls between).
 * - Rotated: the newest `keep` files named `porchlight-<time>.db` in the
 *   folder stay; older ones of that name go (no other file is touched).
 */

export const BACKUP_PREFIX = 'porchlight-';
const BACKUP_NAME = /^porchlight-(\d{8}-\d{6}(?:-\d+)?)\.db$/;

export interface BackupResult {
  file: string;
  bytes: number;
  /** Rows per table in the copy (equal to the database's at the copy). */
  counts: Record<string, number>;
  ms: number;
  /** Older backups removed by the rotation. */
  removed: string[];
}

/** `porchlight-YYYYMMDD-HHMMSS.db` in local time (sortable; a second backup within the same second gets `-2`...). */
export function backupFileName(at: Date, folder: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}-${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  let name = `${BACKUP_PREFIX}${stamp}.db`;
  for (let n = 2; fs.existsSync(path.join(folder, name)); n++) name = `${BACKUP_PREFIX}${stamp}-${n}.db`;
  return name;
}

/** Rows per user table (SQLite's own tables left out). */
export function tableCounts(db: Database.Database): Record<string, number> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
  return Object.fromEntries(tables.map(({ name }) => [name, (db.prepare(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number }).n]));
}

/** `PRAGMA integrity_check` of a file opened read-only: "ok" or the problems it lists. */
export function integrityOf(file: string): { ok: boolean; detail: string; counts: Record<string, number> } {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    return { ok: false, detail: `cannot open: ${(err as Error).message}`, counts: {} };
  }
  try {
    const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    const detail = rows.map((r) => r.integrity_check).join('; ');
    return { ok: detail === 'ok', detail, counts: detail === 'ok' ? tableCounts(db) : {} };
  } catch (err) {
    return { ok: false, detail: (err as Error).message, counts: {} };
  } finally {
    db.close();
  }
}

function differences(a: Record<string, number>, b: Record<string, number>): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.filter((n) => a[n] !== b[n]).map((n) => `${n}: ${a[n] ?? 'missing'} in the database, ${b[n] ?? 'missing'} in the copy`);
}

/** The backups in `folder`, newest first. */
export function listBackups(folder: string): Array<{ file: string; bytes: number; mtimeMs: number }> {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder)
    .filter((name) => BACKUP_NAME.test(name))
    .sort()
    .reverse()
    .map((name) => {
      const st = fs.statSync(path.join(folder, name));
      return { file: path.join(folder, name), bytes: st.size, mtimeMs: st.mtimeMs };
    });
}

/** Removes all but the newest `keep` backups; returns the files removed. */
export function rotateBackups(folder: string, keep: number): string[] {
  const old = listBackups(folder).slice(Math.max(1, Math.floor(keep)));
  for (const { file } of old) fs.rmSync(file, { force: true });
  return old.map((b) => b.file);
}

export interface BackupOptions {
  /** Backups to keep in the folder (newest first); none removed when absent. */
  keep?: number;
  now?: () => Date;
  /**
   * Copy and count inside one read transaction: for a connection of its own
   * (the CLI, while Node-RED may write from another process). Never on a
   * connection the doorbell writes through (its writes would join it).
   */
  snapshot?: boolean;
}

/**
 * Copies `db` into a new file in `folder`, verifies it, then rotates. A copy
 * that fails verification is deleted and the error says why; the older
 * backups are then left as they were.
 */
export async function backupDatabase(db: Database.Database, folder: string, options: BackupOptions = {}): Promise<BackupResult> {
  const started = Date.now();
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, backupFileName((options.now ?? (() => new Date()))(), folder));
  const partial = `${file}.partial`;
  let snapshot = false;
  try {
    if (options.snapshot && !db.inTransaction) {
      // A read transaction pins one snapshot of the WAL for the copy and the counts (writers in other processes go on).
      db.exec('BEGIN');
      tableCounts(db);
      snapshot = true;
    }
    await db.backup(partial);
    // Counted right after the copy's last step, synchronously: in-process writes (the same connection) are in
    // the copy and in the counts alike, and none can fall between; other processes' writes need `snapshot`.
    const source = tableCounts(db);
    if (snapshot) {
      db.exec('COMMIT');
      snapshot = false;
    }
    const copy = integrityOf(partial);
    if (!copy.ok) throw new PorchlightError('BACKUP_FAILED', `backup of ${db.name} failed its integrity check: ${copy.detail}`);
    const diff = differences(source, copy.counts);
    if (diff.length) throw new PorchlightError('BACKUP_FAILED', `backup of ${db.name} does not match the database: ${diff.join(', ')}`);
    fs.renameSync(partial, file);
    const removed = options.keep ? rotateBackups(folder, options.keep) : [];
    return { file, bytes: fs.statSync(file).size, counts: copy.counts, ms: Date.now() - started, removed };
  } catch (err) {
    if (snapshot && db.inTransaction) db.exec('ROLLBACK');
    fs.rmSync(partial, { force: true });
    throw err;
  }
}

/**
 * Brings a backup back into the database `target` (a connection to it, open
 * and in use, or a file path with nothing open on it): the backup is checked
 * first (integrity, Porchlight's tables), then copied over the target with
 * the backup API (one step: the target is never half restored), and the
 * restored database checked again. Returns the restored counts.
 */
export async function restoreDatabase(backupFile: string, target: Database.Database | string): Promise<{ counts: Record<string, number> }> {
  const checked = integrityOf(backupFile);
  if (!checked.ok) throw new PorchlightError('BAD_INPUT', `${backupFile} is not a sound database: ${checked.detail}`);
  if (!('people' in checked.counts) && !('events' in checked.counts)) throw new PorchlightError('BAD_INPUT', `${backupFile} is not a Porchlight database (no people or events table)`);
  const source = new Database(backupFile, { readonly: true, fileMustExist: true });
  try {
    const targetFile = typeof target === 'string' ? target : target.name;
    fs.mkdirSync(path.dirname(path.resolve(targetFile)), { recursive: true });
    // Every page in one step (while the target is locked), so no reader sees a mix.
    await source.backup(targetFile, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
  const restored = typeof target === 'string' ? integrityOf(target) : { ok: (target.pragma('integrity_check', { simple: true }) as string) === 'ok', detail: '', counts: tableCounts(target) };
  if (!restored.ok) throw new PorchlightError('BACKUP_FAILED', `restored database failed its integrity check: ${restored.detail}`);
  const diff = differences(checked.counts, restored.counts);
  if (diff.length) throw new PorchlightError('BACKUP_FAILED', `restored database does not match the backup: ${diff.join(', ')}`);
  return { counts: restored.counts };
}

/** A daily time "HH:MM" (24 h). */
export function parseDailyTime(text: string): { hour: number; minute: number } {
  const m = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  const hour = m ? Number(m[1]) : NaN;
  const minute = m ? Number(m[2]) : NaN;
  if (!(hour >= 0 && hour < 24 && minute >= 0 && minute < 60)) throw new PorchlightError('BAD_INPUT', `backup time must be HH:MM (24 h), not "${text}"`);
  return { hour, minute };
}

/** The next local time at `hour:minute` strictly after `now`. */
export function nextDailyRun(now: Date, time: { hour: number; minute: number }): Date {
  const next = new Date(now.getFullYear(), now.getMonth(), now.getDate(), time.hour, time.minute, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next;
}

export interface ScheduleState {
  nextRunAt?: number;
  lastSuccess?: BackupResult & { at: number };
  lastError?: { message: string; at: number };
  runs: number;
  failures: number;
}

/**
 * Runs `run` every day at `time` (local), re-armed after each run from the
 * clock (a late or slow run never shifts the next day's). Timers are the
 * global ones at call time (fake clocks in tests).
 */
export class DailySchedule {
  readonly state: ScheduleState = { runs: 0, failures: 0 };
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly time: { hour: number; minute: number },
    private readonly run: () => Promise<BackupResult>,
    private readonly hooks: { onSuccess?: (result: BackupResult) => void; onError?: (err: Error) => void } = {},
  ) {}

  start(): this {
    this.arm();
    return this;
  }

  private arm(): void {
    if (this.stopped) return;
    const next = nextDailyRun(new Date(), this.time);
    this.state.nextRunAt = next.getTime();
    this.timer = setTimeout(() => {
      this.running = this.fire().finally(() => {
        this.running = undefined;
        this.arm();
      });
    }, next.getTime() - Date.now());
    this.timer.unref?.();
  }

  private async fire(): Promise<void> {
    this.state.runs++;
    try {
      const result = await this.run();
      this.state.lastSuccess = { ...result, at: Date.now() };
      this.hooks.onSuccess?.(result);
    } catch (err) {
      this.state.failures++;
      this.state.lastError = { message: (err as Error).message, at: Date.now() };
      this.hooks.onError?.(err as Error);
    }
  }

  /** Stops the schedule; waits for a backup in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

import fs from 'node:fs';
import path from 'node:path';
import type { ComponentHealth } from '../metrics/health';
import type { EventLog } from './event-log';

/** Under this much free space where the database or the snapshots live, health reports the disk as full. */
export const MIN_FREE_BYTES = 16 * 2 ** 20;

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** Free bytes for an unprivileged writer on the file system holding `dir`, or undefined when it cannot be read. */
function freeBytes(dir: string): number | undefined {
  try {
    const stats = fs.statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/** Why `target` cannot be written, or undefined when it can (a read-only mount says so even to root). */
function notWritable(target: string): string | undefined {
  try {
    fs.accessSync(target, fs.constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : `${target} is not writable (${code === 'EROFS' ? 'read-only file system' : code})`;
  }
}

/**
 * The event log's database as `/porchlight/health` shows it: down, with the
 * reasons, when its last write was refused (and none has succeeded since),
 * events wait in memory for the database, the file or its folder cannot be
 * written, or the disk holding it or the snapshots is (nearly) full.
 */
export function databaseHealth(file: string, log: EventLog): ComponentHealth {
  const db = log.repository.db;
  const problems: string[] = [];
  if (!db.open) problems.push('the database is closed');
  const { failure, waiting } = log.writeHealth();
  if (failure) problems.push(`the last write was refused (${failure.code}: ${failure.message})`);
  if (waiting > 0) problems.push(`${waiting} event(s) wait in memory until the database takes writes`);
  for (const target of [file, path.dirname(file)]) {
    const why = notWritable(target);
    if (why) problems.push(why);
  }
  let lowest: number | undefined;
  for (const dir of new Set([path.dirname(file), log.snapshots.dir])) {
    const free = freeBytes(dir);
    if (free === undefined) continue;
    lowest = Math.min(lowest ?? free, free);
    if (free < MIN_FREE_BYTES) problems.push(`disk full: ${mb(free)} free for ${dir} (under ${mb(MIN_FREE_BYTES)})`);
  }
  let events: number | undefined;
  if (db.open) {
    try {
      events = log.repository.count();
    } catch (err) {
      problems.push(`the database cannot be read: ${(err as Error).message}`);
    }
  }
  return { ok: problems.length === 0, file, events, freeBytes: lowest, ...(problems.length > 0 ? { reason: problems.join('; ') } : {}) };
}

function fileBytes(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** What the metrics show of the log's storage: the database file with its write-ahead log, and the snapshots against their budget. */
export function storageUse(file: string, log: EventLog, snapshotBudgetBytes: number): { databaseBytes: number; snapshotBytes: number; snapshotBudgetBytes: number } {
  return { databaseBytes: fileBytes(file) + fileBytes(`${file}-wal`), snapshotBytes: log.repository.snapshotBytes(), snapshotBudgetBytes };
}

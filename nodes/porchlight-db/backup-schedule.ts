import path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { backupDatabase, DailySchedule, parseDailyTime, type BackupResult } from '../../lib/backup';
import { registerHealthCheck, watchBackups } from '../../lib/metrics';
import { userDir, type DbUser, type PorchlightDb } from '../shared/db';
import { flagSetting, NODE_DEFAULTS, numberSetting } from '../../lib/settings';

/** The backup part of the porchlight-db dialog. */
export interface BackupSettings {
  /** "HH:MM" local time, daily. */
  time: { hour: number; minute: number };
  keep: number;
  folder: string;
}

/** Backup settings of a porchlight-db definition, or undefined when scheduled backups are off. Relative folders are in `<user dir>/porchlight/`. */
export function parseBackupDef(RED: NodeAPI, def: NodeDef & Record<string, unknown>): BackupSettings | undefined {
  // Missing (a flow saved before the setting existed, or written by hand): the product's default.
  if (!flagSetting(def.backupEnabled, NODE_DEFAULTS['porchlight-db'].backupEnabled)) return undefined;
  const folder = typeof def.backupFolder === 'string' && def.backupFolder.trim() ? def.backupFolder.trim() : 'backups';
  return {
    time: parseDailyTime(typeof def.backupTime === 'string' && def.backupTime.trim() ? def.backupTime : NODE_DEFAULTS['porchlight-db'].backupTime),
    keep: Math.max(1, Math.floor(numberSetting(def.backupKeep, NODE_DEFAULTS['porchlight-db'].backupKeep))),
    folder: path.resolve(userDir(RED), 'porchlight', folder),
  };
}

/** One verified backup of the database's local SQLite file (faces and events; with PostgreSQL, this door's event log) into the folder, rotated: the config node's database, registered with it for the run (its open connection when a node holds it). */
async function backupOwned(database: PorchlightDb, backup: Pick<BackupSettings, 'folder' | 'keep'>): Promise<BackupResult> {
  const run: DbUser = {};
  try {
    const db = await database.register(run);
    return await backupDatabase(db.local, backup.folder, { keep: backup.keep });
  } finally {
    await new Promise<void>((resolve) => database.deregister(run, resolve));
  }
}

/**
 * Starts the daily backup of a porchlight-db config node: logged, shown in
 * /porchlight/health (`backup:<file>`, down after a failed run) and in the
 * metrics. Returns the function that stops it (waiting for a run in progress).
 */
export function startBackupSchedule(node: Node, database: PorchlightDb, backup: BackupSettings): () => Promise<void> {
  const { settings } = database;
  const schedule = new DailySchedule(backup.time, () => backupOwned(database, backup), {
    onSuccess: (r) => node.log(`backup ${r.file}: ${(r.bytes / 2 ** 20).toFixed(1)} MB verified (${Object.entries(r.counts).map(([t, n]) => `${t} ${n}`).join(', ')}) in ${r.ms} ms${r.removed.length ? `; ${r.removed.length} older removed` : ''}`),
    onError: (err) => node.error(`scheduled backup of ${settings.file} into ${backup.folder} failed: ${err.message}`),
  }).start();
  const state = schedule.state;
  const cleanups = [
    watchBackups(settings.file, () => ({ lastSuccessAt: state.lastSuccess?.at, failures: state.failures, lastBytes: state.lastSuccess?.bytes })),
    registerHealthCheck(`backup:${settings.file}`, () => {
      const failedLast = !!state.lastError && (!state.lastSuccess || state.lastError.at > state.lastSuccess.at);
      return {
        ok: !failedLast,
        folder: backup.folder,
        keep: backup.keep,
        nextRunAt: state.nextRunAt && new Date(state.nextRunAt).toISOString(),
        lastBackup: state.lastSuccess && { file: state.lastSuccess.file, at: new Date(state.lastSuccess.at).toISOString(), bytes: state.lastSuccess.bytes },
        lastError: state.lastError && { message: state.lastError.message, at: new Date(state.lastError.at).toISOString() },
      };
    }),
  ];
  return async () => {
    for (const cleanup of cleanups) cleanup();
    await schedule.stop();
  };
}

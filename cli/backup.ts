import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { backupDatabase, restoreDatabase } from '../lib/backup';
import { PorchlightError } from '../lib/errors';

type Io = { out: (line: string) => void; err: (line: string) => void };

export const BACKUP_USAGE = `  backup --db <file> [--to <folder>] [--keep N]
                                           verified online backup of a Porchlight SQLite file (default folder:
                                           backups/ beside it); Node-RED may keep running
  restore <backup> --db <file>             brings a backup back (checked first); the current file is backed up
                                           into backups/ beside it. Stop Node-RED first, or use face-db's
                                           msg.action "restore" while it runs`;

const countsText = (counts: Record<string, number>) => Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', ');

function openExisting(file: string): Database.Database {
  if (!fs.existsSync(file)) throw new PorchlightError('BAD_INPUT', `no such database: ${file}`);
  return new Database(file, { fileMustExist: true });
}

/** `porchlight backup`: one verified backup, from a connection of its own (one read snapshot for the copy and its counts). */
export async function runBackupCommand(dbFile: string, options: { to?: string; keep?: number }, io: Io): Promise<number> {
  const db = openExisting(dbFile);
  try {
    const folder = path.resolve(options.to ?? path.join(path.dirname(path.resolve(dbFile)), 'backups'));
    const result = await backupDatabase(db, folder, { keep: options.keep, snapshot: true });
    io.out(result.file);
    io.err(`verified: integrity ok; ${countsText(result.counts)}; ${result.bytes} bytes in ${result.ms} ms${result.removed.length ? `; removed ${result.removed.length} older` : ''}`);
    return 0;
  } finally {
    db.close();
  }
}

/** `porchlight restore`: the current file backed up first, then the backup copied in and checked. */
export async function runRestoreCommand(backupFile: string, dbFile: string, io: Io): Promise<number> {
  if (!fs.existsSync(backupFile)) throw new PorchlightError('USAGE', `no such backup: ${backupFile}`);
  if (fs.existsSync(dbFile)) {
    const current = openExisting(dbFile);
    try {
      const previous = await backupDatabase(current, path.join(path.dirname(path.resolve(dbFile)), 'backups'), { snapshot: true });
      io.err(`the current database was saved as ${previous.file}`);
    } finally {
      current.close();
    }
  }
  const { counts } = await restoreDatabase(backupFile, dbFile);
  io.out(`restored ${backupFile} into ${dbFile}: ${countsText(counts)}`);
  return 0;
}

import type { Database } from 'better-sqlite3';
import { PorchlightError } from '../../errors';
import faces from './001-faces';
import events from './002-events';
import type { Migration } from './types';

export type { Migration } from './types';

/** Every schema step in order; a new one is a new file and one more line here. */
export const MIGRATIONS: readonly Migration[] = [
  faces,
  events,
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Brings the DB to the latest schema, one transaction per step, and returns the versions it applied. */
export function runMigrations(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  migrations.forEach((m, i) => {
    if (i > 0 && m.version <= migrations[i - 1].version) throw new Error(`migration ${m.name}: versions must increase`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations[migrations.length - 1].version;
  if (current > latest) {
    throw new PorchlightError('BAD_INPUT', `the database is at schema version ${current}, newer than this Porchlight (${latest}); upgrade the package`);
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}

import type { Database } from 'better-sqlite3';
import { PorchlightError } from '../../errors';
import faces from './001-faces';
import events from './002-events';
import visitors from './003-visitors';
import labelsTolerances from './004-labels-tolerances';
import eventDoors from './005-event-doors';
import visitorPerson from './006-visitor-person';
import type { Migration } from './types';

export type { Migration } from './types';

/** Every schema step in order; a new one is a new file and one more line here. */
export const MIGRATIONS: readonly Migration[] = [
  faces,
  events,
  visitors,
  labelsTolerances,
  eventDoors,
  visitorPerson,
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** The steps a DB at schema `current` still needs; refuses a DB newer than this package. Shared by both backends. */
export function pendingMigrations(current: number, migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  migrations.forEach((m, i) => {
    if (i > 0 && m.version <= migrations[i - 1].version) throw new PorchlightError('INTERNAL', `migration ${m.name}: versions must increase`);
  });
  const latest = migrations[migrations.length - 1].version;
  if (current > latest) {
    throw new PorchlightError('DB_TOO_NEW', `the database is at schema version ${current}, newer than this Porchlight (${latest}); upgrade the package`);
  }
  return migrations.filter((m) => m.version > current);
}

/** Brings the DB to the latest schema, one transaction per step, and returns the versions it applied. */
export function runMigrations(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = pendingMigrations(current, migrations);
  const applied: number[] = [];
  for (const migration of pending) {
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}

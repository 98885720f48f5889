import type pg from 'pg';
import { MIGRATIONS, pendingMigrations, type Migration } from '../migrations';

/** Any fixed number: the advisory lock every Porchlight instance takes while it migrates. */
const MIGRATION_LOCK = 0x506f7263; // "Porc"

/**
 * Brings a PostgreSQL database to the latest schema and returns the versions
 * it applied. Instances starting at once take turns on an advisory lock, so
 * the second one finds the work done. Each step runs in its own transaction
 * with its line in `schema_version` (PostgreSQL's DDL is transactional).
 */
export async function runPgMigrations(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
        version    integer PRIMARY KEY,
        name       text    NOT NULL,
        applied_at bigint  NOT NULL
      )`);
      const { rows } = await client.query<{ current: number | null }>('SELECT max(version) AS current FROM schema_version');
      const applied: number[] = [];
      for (const migration of pendingMigrations(rows[0].current ?? 0, migrations)) {
        await client.query('BEGIN');
        try {
          if (typeof migration.postgres === 'string') await client.query(migration.postgres);
          else await migration.postgres(client);
          await client.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        applied.push(migration.version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

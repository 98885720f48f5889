import type { Database } from 'better-sqlite3';
import type { PoolClient } from 'pg';

/**
 * One schema step, for both backends: the same tables in SQLite and in
 * PostgreSQL. `up` runs inside a transaction that also sets
 * `PRAGMA user_version = version`; `postgres` (SQL text, or a function over
 * the client) runs inside a transaction that also records the version in
 * `schema_version`. Both are required: a step written for one backend only
 * would leave the other behind.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
  postgres: string | ((client: PoolClient) => Promise<void>);
}

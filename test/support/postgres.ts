import crypto from 'node:crypto';
import pg from 'pg';
import { parsePgUrl, pgClientConfig, type PostgresConfig } from '../../lib/store/postgres/connection';

/**
 * Real PostgreSQL for tests. `.ci/run` starts a server on loopback and exports
 * PORCHLIGHT_TEST_PG_URL (a role allowed to create databases); every test
 * file gets a fresh database of its own, so parallel runs never collide.
 */
export function pgTestUrl(): string | undefined {
  return process.env.PORCHLIGHT_TEST_PG_URL || undefined;
}

export const PG_MISSING_REASON = 'PORCHLIGHT_TEST_PG_URL is not set (see .ci/run for how to start PostgreSQL for the tests)';

let toldMissing = false;

/**
 * Call inside a `describe`: its tests show as pending when no server is
 * configured, but under CI=true a missing server fails the suite instead.
 */
export function requirePostgres(): void {
  before(function () {
    if (pgTestUrl()) return;
    if (process.env.CI === 'true') throw new Error(`PostgreSQL tests cannot run: ${PG_MISSING_REASON}`);
    if (!toldMissing) console.log(`      (pending: ${PG_MISSING_REASON})`);
    toldMissing = true;
    this.skip();
  });
}

export interface TestDatabase {
  config: PostgresConfig;
  url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = pgTestUrl();
  if (!url) throw new Error(PG_MISSING_REASON);
  const client = new pg.Client(pgClientConfig(parsePgUrl(url)));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty, uniquely named database; `drop()` removes it (even with connections still open). */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `porchlight_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 20)}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const base = new URL(pgTestUrl()!);
  base.pathname = `/${name}`;
  let dropped = false;
  return {
    config: { ...parsePgUrl(base.toString()), applicationName: `porchlight-test-${label}` },
    url: base.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE cannot end a backend of another role (an autovacuum worker visiting the database): it is brief, so retry.
      for (let attempt = 1; ; attempt++) {
        try {
          await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
          return;
        } catch (err) {
          if (attempt === 10) throw err;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      }
    },
  };
}

/** Empties every table but schema_version (ids restart), so one database serves test after test. */
export async function emptyDatabase(config: PostgresConfig): Promise<void> {
  const client = new pg.Client(pgClientConfig(config));
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'",
    );
    if (rows.length > 0) await client.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')} RESTART IDENTITY CASCADE`);
  } finally {
    await client.end();
  }
}

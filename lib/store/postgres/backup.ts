import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type pg from 'pg';
import { openSqliteStore } from '../sqlite';

const PAGE = 500;

/**
 * Copies the shared PostgreSQL DB into a new SQLite file: every table both
 * schemas have, row for row with the same ids, read in one REPEATABLE READ
 * snapshot through a cursor (pages, yielding between them). The file is a
 * complete SQLite store: a backup you can open, or the way back to one box.
 * Written beside `file` and renamed over it when complete.
 */
export async function copyToSqlite(client: pg.ClientBase, file: string): Promise<void> {
  const target = path.resolve(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  fs.rmSync(partial, { force: true });
  const store = openSqliteStore(partial);
  const db = store.db;
  try {
    db.pragma('foreign_keys = OFF'); // rows arrive table by table; the source already holds them consistent
    const sqliteTables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
      .all()
      .map((t) => t.name);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const { rows: pgTables } = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
      );
      const shared = sqliteTables.filter((name) => name !== 'schema_version' && pgTables.some((t) => t.table_name === name));
      for (const table of shared) await copyTable(client, db, table);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    await store.close();
    fs.renameSync(partial, target);
  } catch (err) {
    await store.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${partial}${suffix}`, { force: true });
    throw err;
  }
}

async function copyTable(client: pg.ClientBase, db: ReturnType<typeof openSqliteStore>['db'], table: string): Promise<void> {
  const sqliteColumns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all().map((c) => c.name);
  const { rows: pgColumns } = await client.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  const columns = sqliteColumns.filter((name) => pgColumns.some((c) => c.column_name === name));
  const list = columns.map((c) => `"${c}"`).join(', ');
  const insert = db.prepare(`INSERT INTO "${table}" (${list}) VALUES (${columns.map(() => '?').join(', ')})`);
  const insertPage = db.transaction((rows: Record<string, unknown>[]) => {
    for (const row of rows) insert.run(columns.map((c) => row[c]));
  });
  await client.query(`DECLARE copy_rows NO SCROLL CURSOR FOR SELECT ${list} FROM "${table}"`);
  try {
    for (;;) {
      const { rows } = await client.query<Record<string, unknown>>(`FETCH ${PAGE} FROM copy_rows`);
      if (rows.length === 0) break;
      insertPage(rows);
      await yieldToEventLoop();
    }
  } finally {
    await client.query('CLOSE copy_rows');
  }
}

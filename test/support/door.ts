import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { EventLog } from '../../lib/eventlog/event-log';
import { EventOutbox, EventReplicator, PgEventLog } from '../../lib/eventlog/replicate';
import { Backoff } from '../../lib/process/backoff';
import { openSqliteStore, type PostgresConfig, type SqliteStore } from '../../lib/store';
import { openPgPool } from '../../lib/store/postgres/connection';
import { tempDir } from './temp';

/** One door: its own SQLite log (the write path and the buffer) and a replicator into the shared PostgreSQL log. */
export interface Door {
  name: string;
  dir: string;
  store: SqliteStore;
  log: EventLog;
  outbox: EventOutbox;
  replicator: EventReplicator;
  pool: pg.Pool;
}

export interface DoorOptions {
  /** Another port for the shared log (a cuttable proxy in front of it). */
  port?: number;
  maxBacklog?: number;
  batchSize?: number;
  /** false: the replicator is not started, only `replicator.flush()` sends (a benchmark's timed drain). */
  start?: boolean;
}

/** Opens a door in a scratch folder, replicating into the shared log at `config` (migrated by the caller). */
export function openDoor(name: string, config: PostgresConfig, options: DoorOptions = {}): Door {
  const dir = tempDir(`porchlight-door-${name}-`);
  const store = openSqliteStore(path.join(dir, 'porchlight.db'));
  const log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots'), door: name });
  const outbox = new EventOutbox(log.repository, log.snapshots, { maxBacklog: options.maxBacklog });
  const pool = openPgPool({ ...config, port: options.port ?? config.port, connectTimeoutMs: 1_000 });
  // Short retries and cool-off: an outage in a test lasts a second or two.
  const replicator = new EventReplicator(outbox, new PgEventLog(pool), { pollMs: 100, batchSize: options.batchSize, backoff: new Backoff(100, 400), breaker: { coolOffMs: 400 } });
  if (options.start !== false) {
    log.on('recorded', () => replicator.nudge());
    replicator.start();
  }
  return { name, dir, store, log, outbox, replicator, pool };
}

/** Stops the replicator, lets the log finish, closes both databases and removes the folder (outside mocha too). */
export async function closeDoor(door: Door): Promise<void> {
  await door.replicator.stop();
  await door.log.whenIdle();
  await door.pool.end();
  await door.store.close();
  fs.rmSync(door.dir, { recursive: true, force: true });
}

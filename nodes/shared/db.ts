import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Node, NodeAPI, NodeDef, NodeStatus } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { Registrations } from '../../lib/process';
import { type EventLog, joinSharedLog, type SharedLog } from '../../lib/eventlog';
import { acquireSharedStore, type Matcher, type StoreLease } from '../../lib/match';
import { type Store, PG_SSL_MODES, type PgSslMode, type PostgresConfig, PostgresStore, SqliteStore, type StoreConfig, type StoreHealth, storeKey } from '../../lib/store';
import { choiceSetting, NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { errorStatus, readyStatus, showStatus, tellConflict } from './status';

/** What the `porchlight-db` config node holds. */
export interface DbSettings {
  /**
   * `sqlite` (the default, also when absent): faces and events in `file`.
   * `postgres`: the faces in the PostgreSQL database every door shares;
   * `file` still holds this door's own local data (its event log and outbox).
   */
  backend?: 'sqlite' | 'postgres';
  /** The SQLite file, absolute. */
  file: string;
  /** Folder for event snapshots, absolute. */
  snapshotDir: string;
  /** With the postgres backend: where, as whom (the password from Node-RED's credentials store). */
  postgres?: PostgresConfig;
}

export interface DbConfigNode extends Node {
  settings: DbSettings;
  /** What the node owns: the open database while users are registered. */
  database: PorchlightDb;
  /** mqtt-broker style: a user registers (opening the database for the first), and deregisters when it closes. */
  register(user: DbUser): Promise<FaceDb>;
  deregister(user: DbUser, done: () => void): void;
}

/** A node (or an admin request) using a database: told in words when it is shared with other connection settings. */
export interface DbUser {
  warn?(message: string): void;
  status?(status: NodeStatus): void;
}

/** What a node gets from its `porchlight-db` config node. */
export interface FaceDb {
  store: Store;
  /** The local SQLite connection (the event log's tables), whichever backend holds the faces. */
  local: Database.Database;
  matcher: Matcher;
  /** Resolves when the matcher holds every stored embedding. */
  matcherReady: Promise<void>;
  snapshotDir: string;
  settings: DbSettings;
}

/** Node-RED's user dir (~/.node-red unless the settings say otherwise). */
export function userDir(RED: NodeAPI): string {
  return (RED.settings as { userDir?: string }).userDir ?? path.join(os.homedir(), '.node-red');
}

/** Settings from the config node's dialog (and its credentials); relative paths are inside the user dir. */
export function parseDbDef(RED: NodeAPI, def: NodeDef & Record<string, unknown>, credentials: { password?: string } = {}): DbSettings {
  const base = path.join(userDir(RED), 'porchlight');
  const given = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  const defaults = NODE_DEFAULTS['porchlight-db'];
  const settings: DbSettings = {
    backend: choiceSetting<NonNullable<DbSettings['backend']>>(def.backend, defaults.backend, ['sqlite', 'postgres']),
    file: path.resolve(base, given(def.file) ?? 'porchlight.db'),
    snapshotDir: path.resolve(base, given(def.snapshotDir) ?? 'snapshots'),
  };
  if (settings.backend === 'postgres') {
    settings.postgres = {
      host: given(def.pgHost) ?? defaults.pgHost,
      port: numberSetting(def.pgPort, defaults.pgPort),
      database: given(def.pgDatabase) ?? defaults.pgDatabase,
      user: given(def.pgUser) ?? defaults.pgUser,
      password: credentials.password || undefined,
      ssl: choiceSetting<PgSslMode>(def.pgSsl, defaults.pgSsl, PG_SSL_MODES),
      sslCa: given(def.pgCa),
      applicationName: `porchlight ${def.name || def.id}`.slice(0, 63),
    };
  }
  return settings;
}

/** Which database a config's faces are in: config nodes with equal keys are one database. */
export function dbKey(settings: DbSettings): string {
  return storeKey(storeConfigOf(settings));
}

/** The store a config opens: the faces' database (a PostgreSQL server not up yet is waited for in the background). */
function storeConfigOf(settings: DbSettings): StoreConfig {
  return settings.backend === 'postgres' && settings.postgres ? { backend: 'postgres', postgres: settings.postgres, startUnreachable: true } : { file: settings.file };
}

/** The config node a node points at, or a clear error when it points at none. */
export function dbSettings(RED: NodeAPI, dbId: string | undefined): DbSettings {
  return dbConfig(RED, dbId).settings;
}

/**
 * SQLite's refusals to write (a read-only file, or a folder where the
 * write-ahead log cannot be created), said with the file and what to check;
 * any other error as it is.
 */
export function explainReadOnly(err: unknown, file: string): unknown {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  if (!/^SQLITE_(READONLY|CANTOPEN|PERM)/.test(code)) return err;
  const where = code === 'SQLITE_READONLY_DIRECTORY' || code.startsWith('SQLITE_CANTOPEN') ? 'its folder' : 'the file';
  return new PorchlightError('READ_ONLY', `read-only database: ${file} (${(err as Error).message}): give Node-RED write access to ${where}`, { cause: err });
}

/** Opens (or joins) the shared store of a DB for as long as the caller needs it (with the local SQLite file when the faces are elsewhere). */
export async function openFaceDb(settings: DbSettings): Promise<FaceDb & Pick<StoreLease, 'release' | 'conflict'>> {
  const openLocal = () =>
    acquireSharedStore({ file: settings.file }).catch((err: unknown) => {
      throw explainReadOnly(err, settings.file);
    });
  const config = storeConfigOf(settings);
  const local = config.backend === 'postgres' ? await openLocal() : undefined;
  let lease: StoreLease;
  try {
    lease = local ? await acquireSharedStore(config) : await openLocal();
  } catch (err) {
    await local?.release();
    throw err;
  }
  return {
    store: lease.store,
    local: sqliteOf((local ?? lease).store),
    matcher: lease.matcher,
    get matcherReady() {
      return lease.matcherReady;
    },
    snapshotDir: settings.snapshotDir,
    settings,
    conflict: [local?.conflict, lease.conflict].filter(Boolean).join('; ') || undefined,
    release: async () => {
      await lease.release();
      await local?.release();
    },
  };
}

/**
 * Calls `listener` when a shared database goes out of reach and comes back
 * (PostgreSQL; a SQLite file never does), and at once when it is out of
 * reach now. Returns the unsubscribe function.
 */
export function onDbHealth(store: Store, listener: (health: StoreHealth) => void): () => void {
  if (!(store instanceof PostgresStore)) return () => undefined;
  if (!store.health.reachable) listener(store.health);
  return store.onHealth(listener);
}

/** The node status for a database outage: matching goes on from memory, writes wait for the database. */
export function dbHealthStatus(health: StoreHealth): NodeStatus {
  return health.reachable ? readyStatus('database reachable again') : { ...errorStatus(health.error), text: 'database unreachable' };
}

type OpenDb = FaceDb & { release(): Promise<void>; conflict?: string };

/**
 * What a `porchlight-db` config node owns: its database (the faces' store
 * and matcher, and the local SQLite file of its event log) while it has
 * users, and with PostgreSQL the replication of its event log into the
 * shared log while event-log nodes are registered. The first user to register opens it (joining the process's one
 * connection per database), the last to deregister closes it; users told
 * when the database is shared with other connection settings.
 */
export class PorchlightDb {
  private readonly users = new Registrations<DbUser, Promise<OpenDb>>({
    open: () => {
      const opening = openFaceDb(this.settings);
      opening.catch(() => this.users.forget(opening)); // the next user tries again
      return opening;
    },
    close: (opening) => opening.then((db) => db.release()),
  });
  /** The event logs of registered users, each joined to the database's shared event log. */
  private readonly logs = new Map<DbUser, SharedLog>();

  constructor(readonly settings: DbSettings) {}

  /** Registers a user (again: no effect) and resolves with the open database; rejects (unregistering it) when it cannot be opened. */
  register(user: DbUser): Promise<FaceDb> {
    const { resource: opening, added } = this.users.register(user);
    return opening.then(
      (db) => {
        if (added) tellConflict(user, db.conflict, 'database shared with other settings (see the debug log)');
        return db;
      },
      (err: unknown) => {
        this.users.drop(user);
        throw err;
      },
    );
  }

  /**
   * Registers a user's event log with the database's shared event log (with
   * PostgreSQL: the one replication of the local file into it, started for
   * its first log), held until `deregisterLog` or the user's `deregister`. A
   * replication running with other settings is said to the user.
   */
  async registerLog(user: DbUser, log: EventLog, options: { maxBacklog?: number } = {}): Promise<SharedLog> {
    const db = await this.register(user);
    await this.deregisterLog(user);
    const shared = joinSharedLog(log, db.store, options);
    this.logs.set(user, shared);
    tellConflict(user, shared.conflict, 'shared log: other settings');
    return shared;
  }

  /** Gives back a user's event log: after the last one the replication stops, waiting for a batch in flight (the outbox keeps the rest). */
  async deregisterLog(user: DbUser): Promise<void> {
    const shared = this.logs.get(user);
    this.logs.delete(user);
    await shared?.release();
  }

  /** Deregisters a user (its event log first); after the last one the database is released (`done` when closed, if this closed it). */
  deregister(user: DbUser, done: () => void = () => undefined): void {
    if (this.logs.has(user)) {
      this.deregisterLog(user).then(
        () => this.deregister(user, done),
        () => this.deregister(user, done),
      );
      return;
    }
    this.users.deregister(user, done);
  }

  /** The database while a user holds it open (or is opening it), else undefined: nothing is opened. */
  get open(): Promise<FaceDb> | undefined {
    return this.users.current;
  }

  get userCount(): number {
    return this.users.size;
  }
}

/** The config node a node points at, or a clear error when it points at none. */
export function dbConfig(RED: NodeAPI, dbId: string | undefined): DbConfigNode {
  const config = dbId ? (RED.nodes.getNode(dbId) as DbConfigNode | null) : null;
  if (!config?.database) throw new PorchlightError('BAD_INPUT', 'no face database configured: pick a porchlight-db config node');
  return config;
}

/**
 * The face DB of the config node `dbId`, `node` registered with it while it
 * runs and deregistered when it closes (the database closes with its last
 * user). Rejects when there is no config node or the file cannot be opened;
 * the caller shows that status.
 */
export function leaseFaceDb(RED: NodeAPI, node: Node, dbId: string | undefined, options: { drain?: () => Promise<unknown> } = {}): Promise<FaceDb> {
  let database: PorchlightDb | undefined;
  const opening = (async () => {
    database = dbConfig(RED, dbId).database;
    return database.register(node);
  })();
  opening.catch(() => undefined); // the caller handles the failure; the close handler must not see it as unhandled
  let unwatch = () => undefined as unknown;
  opening.then((db) => (unwatch = onDbHealth(db.store, (health) => showStatus(node, dbHealthStatus(health), health.reachable ? undefined : `database unreachable (matching from memory): ${health.error}`))), () => undefined);
  node.on('close', (_removed: boolean, done: () => void) => {
    unwatch();
    // Let the node's work in flight finish (bounded, Node-RED allows 15 s) before the file may close.
    const drained = Promise.race([options.drain?.().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS).unref())]);
    // A DB that never opened has nothing to release (its failure was shown in the node's status).
    drained.then(() => opening).then(() => database!.deregister(node, done), () => done());
  });
  return opening;
}

/**
 * For an admin request: the database of a config node, with the request
 * registered as a user until `release`. When a node holds it, this is its open
 * store and matcher; otherwise it is opened for the request and closed at `release`.
 */
export async function dbForRequest(config: DbConfigNode): Promise<FaceDb & { release(): Promise<void> }> {
  const user: DbUser = {};
  const db = await config.database.register(user);
  let released: Promise<void> | undefined;
  return { ...db, matcherReady: db.matcherReady, release: () => (released ??= new Promise<void>((resolve) => config.database.deregister(user, resolve))) };
}

const DRAIN_TIMEOUT_MS = 10_000;

/** The SQLite connection under a store, for tables of its own in the same file (the event log). */
export function sqliteOf(store: Store): Database.Database {
  if (store instanceof SqliteStore) return store.db;
  throw new PorchlightError('BAD_INPUT', `the ${store.backend} backend has no SQLite connection`);
}

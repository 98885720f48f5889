export * from './types';
export { normalizeName, normalizeNotes, MAX_NOTES_LENGTH, parseList, lookupPerson, parsePersonId, personRefOf, optionalPersonRef, MAX_NAME_LENGTH } from './names';
export { MIGRATIONS, SCHEMA_VERSION, runMigrations, type Migration } from './migrations';
export { SqliteStore, openSqliteStore, blobToEmbedding, embeddingToBlob, type SqliteStoreOptions } from './sqlite';

export { PostgresStore, openPostgresStore, type StoreHealth } from './postgres/store';
export { describePg, parsePgUrl, PG_SSL_MODES, type PgSslMode, type PostgresConfig } from './postgres/connection';

import path from 'node:path';
import type { Store } from './types';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite';
import { openPostgresStore } from './postgres/store';
import { describePg, type PostgresConfig } from './postgres/connection';

export interface SqliteStoreConfig extends SqliteStoreOptions {
  backend?: 'sqlite';
  /** The SQLite file. */
  file: string;
}

/** One face DB shared by many Porchlight instances (doors). */
export interface PostgresStoreConfig {
  backend: 'postgres';
  postgres: PostgresConfig;
  /** Open even when the server is unreachable, and connect when it is back (see PostgresStore.open). */
  startUnreachable?: boolean;
}

export type StoreConfig = SqliteStoreConfig | PostgresStoreConfig;

/** Opens the configured backend; the one place that knows which backends exist. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.backend === 'postgres') return openPostgresStore(config.postgres, config);
  return openSqliteStore(config.file, config);
}

/** Which database a config names: equal keys mean the same DB (one store per DB per process). */
export function storeKey(config: StoreConfig): string {
  if (config.backend === 'postgres') return describePg(config.postgres);
  return `sqlite:${config.file === ':memory:' ? config.file : path.resolve(config.file)}`;
}
export { readPersonFolders } from './folders';
export { openPgPool } from './postgres/connection';
export { runPgMigrations } from './postgres/migrations';
export { exportFaces, exportFacesToFolder, importFaces, readExportFolder } from './transfer';

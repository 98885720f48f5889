export * from './types';
export { normalizeName, parseList, lookupPerson, MAX_NAME_LENGTH } from './names';
export { MIGRATIONS, SCHEMA_VERSION, runMigrations, type Migration } from './migrations';
export { SqliteFaceStore, openSqliteStore, blobToEmbedding, embeddingToBlob, type SqliteStoreOptions } from './sqlite';

import type { FaceStore } from './types';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite';

export interface StoreConfig extends SqliteStoreOptions {
  backend?: 'sqlite';
  /** The SQLite file. */
  file: string;
}

/** Opens the configured backend; the one place that knows which backends exist. */
export async function openStore(config: StoreConfig): Promise<FaceStore> {
  return openSqliteStore(config.file, config);
}

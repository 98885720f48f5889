import path from 'node:path';
import { openSqliteStore, type SqliteStore } from '../../lib/store';
import { tempDir } from './temp';

/**
 * A Porchlight database (SQLite) in a new scratch folder, for a test that wants one on disk. The folder
 * goes as tempDir's do (after the test; after the run when made in a `before`); the test closes the store.
 */
export function scratchStore(prefix: string): { dir: string; store: SqliteStore } {
  const dir = tempDir(prefix);
  return { dir, store: openSqliteStore(path.join(dir, 'porchlight.db')) };
}

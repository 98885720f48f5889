import type Database from 'better-sqlite3';
import { SqliteStore } from '../store/sqlite';
import type { Store } from '../store/types';
import { VisitorBook } from './book';

export { VisitorBook, CLUSTER_TOLERANCE_SHARE, DEFAULT_MIN_EVENTS, MAX_NAMED_FACES, visitorLabel, type VisitorBookOptions } from './book';
export { variedBestFaces } from './sampling';
export { unknownFacesOf } from './message';
export { clusterDistance, fileVisitors, type VerdictMessage, type VisitorBookOpener } from './filing';
export { findFace, faceSourceOf, type FaceSource, type FindDeps } from './find';
export { findFaceWith, listVisitors, visitorIdOf, type FindEngine } from './requests';
export type * from './types';

/** One book per SQLite connection: every node on a door's file shares it. */
const books = new WeakMap<Database.Database, VisitorBook>();

/**
 * The visitor book of a door, created and loaded on first use (face-recognize
 * files faces into it, face-db and the admin API read and change it). Its
 * tables are in `local`, the door's own SQLite file (next to its event log,
 * which its faces belong to); `store` is where the faces are enrolled, the
 * same file or the PostgreSQL database every door shares. So on PostgreSQL
 * each door keeps its own visitors, while a named one becomes a person known
 * at every door, and forgetting that person at any door reaches this book as
 * a store change. Undefined for a PostgreSQL store alone (no local file).
 */
export function visitorsOf(store: Store, local: Database.Database): VisitorBook;
export function visitorsOf(store: Store): VisitorBook | undefined;
export function visitorsOf(store: Store, local: Database.Database | undefined = store instanceof SqliteStore ? store.db : undefined): VisitorBook | undefined {
  if (!local) return undefined;
  let book = books.get(local);
  if (!book) {
    const created = new VisitorBook(local);
    const dropForgotten = () => created.dropForgottenPeople(store).catch(() => undefined); // out of reach: tried again at the next reset
    const unsubscribe = store.onChange((change) => {
      // The door's file was closed (a redeploy) while the shared store lives on: this book is done.
      if (!local.open) return unsubscribe();
      if (change.type === 'person-removed') created.personRemoved(change.personId).catch(() => undefined);
      // A reset (a reconnect after an outage, an import) may have missed removals.
      if (change.type === 'reset') dropForgotten();
    });
    dropForgotten();
    books.set(local, created);
    book = created;
  }
  return book;
}
export { VisitorRepository } from './repository';

import { SqliteFaceStore } from '../store/sqlite';
import type { FaceStore } from '../store/types';
import { VisitorBook } from './book';

export { VisitorBook, CLUSTER_TOLERANCE_SHARE, DEFAULT_MIN_EVENTS, MAX_NAMED_FACES, visitorLabel, type VisitorBookOptions } from './book';
export { variedBestFaces } from './sampling';
export { unknownFacesOf } from './message';
export { findFace, faceSourceOf, type FaceSource, type FindDeps } from './find';
export type * from './types';

const books = new WeakMap<FaceStore, VisitorBook>();

/**
 * The visitor book of a store, one per open database (face-recognize files
 * faces into it, face-db and the admin API read and change it), created and
 * loaded on first use. Undefined for a backend without the SQLite tables.
 */
export function visitorsOf(store: FaceStore): VisitorBook | undefined {
  if (!(store instanceof SqliteFaceStore)) return undefined;
  let book = books.get(store);
  if (!book) {
    const created = new VisitorBook(store.db);
    store.onChange((change) => {
      if (change.type === 'person-removed') created.personRemoved(change.personId).catch(() => undefined);
    });
    books.set(store, created);
    book = created;
  }
  return book;
}

import type Database from 'better-sqlite3';

export type EventsDeletedListener = (eventIds: readonly string[]) => void;

/** Per database connection: whoever keeps something in memory about events (the visitor clusters) hears of their deletion. */
const listeners = new WeakMap<Database.Database, Set<EventsDeletedListener>>();

/** Calls `listener` after events of `db` are deleted (retention or by hand); returns the unsubscribe function. */
export function onEventsDeleted(db: Database.Database, listener: EventsDeletedListener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}

/** Tells the listeners of `db` that these events were deleted (after the transaction committed). */
export function notifyEventsDeleted(db: Database.Database, eventIds: readonly string[]): void {
  if (eventIds.length === 0) return;
  for (const listener of listeners.get(db) ?? []) listener(eventIds);
}

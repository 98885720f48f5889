import type { EventLog } from './event-log';
import type { SnapshotKind } from './snapshot';
import type { EventDetail, EventFilter, EventPage } from './types';

/**
 * What the dashboard and the admin API read: this door's SQLite log, or the
 * shared PostgreSQL log of every door. Asynchronous, because the shared one
 * is across a network.
 */
export interface EventReader {
  query(filter: EventFilter): Promise<EventPage>;
  get(id: string): Promise<EventDetail | undefined>;
  faceCrop(eventId: string, faceId: number): Promise<Buffer | undefined>;
  image(eventId: string, kind: SnapshotKind): Promise<Buffer | undefined>;
  /** Deletes the event (its faces and pictures); false when there was none. */
  delete(id: string): Promise<boolean>;
}

/** The reader of one door's own log. */
export function localReader(log: EventLog): EventReader {
  return {
    query: async (filter) => log.repository.query(filter),
    get: async (id) => log.get(id),
    faceCrop: async (eventId, faceId) => log.repository.faceCrop(eventId, faceId),
    image: (eventId, kind) => log.snapshots.read(eventId, kind),
    delete: (id) => log.delete(id),
  };
}

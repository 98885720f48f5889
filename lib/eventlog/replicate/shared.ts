import { registerHealthCheck, watchReplication } from '../../metrics';
import { differingFields, SharedResource } from '../../process/shared-resource';
import { PostgresStore, type Store } from '../../store';
import type { EventLog, RecordOutcome } from '../event-log';
import { type EventReader, localReader } from '../reader';
import { EventOutbox } from './outbox';
import { PgEventLog } from './pg-events';
import { EventReplicator } from './replicator';

/** What one event log holds of the shared log of every door while it runs. */
export interface SharedLog {
  /** The shared log of every door with PostgreSQL, else this door's own. */
  reader: EventReader;
  /** The replication into the shared log (PostgreSQL only). */
  replicator?: EventReplicator;
  /** Set when this log asked for other replication settings than the running replication's: what differs, in words. */
  conflict?: string;
  /** Stops nudging the replication and gives it back: the last log's release stops it (the outbox keeps what is left for next time). */
  release(): Promise<void>;
}

/** One replication per local database file, however many event logs write to it (two would race on one outbox). */
interface Replication {
  replicator: EventReplicator;
  shared: PgEventLog;
  cleanups: Array<() => void>;
}

interface ReplicationSettings {
  log: EventLog;
  store: PostgresStore;
  maxBacklog?: number;
}

const replications = new SharedResource<ReplicationSettings, Replication>({
  what: 'event replication of',
  open: ({ log, store, maxBacklog }, file) => {
    const shared = new PgEventLog(store.pool);
    const replicator = new EventReplicator(new EventOutbox(log.repository, log.snapshots, { maxBacklog }), shared);
    const cleanups = [
      store.onChange((change) => {
        if (change.type !== 'person-removed') return;
        shared.forgetPerson(String(change.personId)).catch((err: Error) => replicator.emit('forget-failed', change.personId, err));
      }),
      watchReplication(file, () => replicator.stats()),
      registerHealthCheck(`event-replication:${file}`, () => {
        const stats = replicator.stats();
        return { ok: stats.state !== 'offline', ...stats };
      }),
    ];
    replicator.start();
    return { replicator, shared, cleanups };
  },
  close: async ({ replicator, cleanups }) => {
    for (const cleanup of cleanups) cleanup();
    await replicator.stop();
  },
  differences: (inUse, asked) => differingFields({ maxBacklog: inUse.maxBacklog }, { maxBacklog: asked.maxBacklog }),
});

/** How many event logs replicate from the database file `file` (0: its replication is stopped). */
export function replicationUsers(file: string): number {
  return replications.users(file);
}

/**
 * The shared log reader: PostgreSQL holds every door's events. Deleting one
 * also deletes it here if it is this door's (otherwise the outbox would bring
 * it back at its next change).
 */
function sharedReader(shared: PgEventLog, log: EventLog): EventReader {
  return {
    query: (filter) => shared.query(filter),
    get: (id) => shared.get(id),
    faceCrop: (eventId, faceId) => shared.faceCrop(eventId, faceId),
    image: (eventId, kind) => shared.image(eventId, kind),
    delete: async (id) => {
      const [there, here] = await Promise.all([shared.delete(id), log.delete(id)]);
      return there || here;
    },
  };
}

/**
 * With the faces on PostgreSQL, `log` replicates into the same database (the
 * store's pool, migrated by the store), joining the one replication of its
 * local file, and reads the shared log; each verdict or failure it records
 * nudges the replication. On SQLite alone, replication is off and the outbox
 * empty.
 */
export function joinSharedLog(log: EventLog, store: Store, options: { maxBacklog?: number } = {}): SharedLog {
  if (!(store instanceof PostgresStore)) {
    new EventOutbox(log.repository, log.snapshots).disable();
    return { reader: localReader(log), release: async () => undefined };
  }
  const lease = replications.acquire(log.repository.db.name, { log, store, maxBacklog: options.maxBacklog });
  const { replicator, shared } = lease.resource;
  const nudge = (outcome: RecordOutcome) => {
    if (outcome.kind === 'verdict' || outcome.kind === 'failure') replicator.nudge();
  };
  log.on('recorded', nudge);
  return {
    reader: sharedReader(shared, log),
    replicator,
    conflict: lease.conflict,
    async release() {
      log.off('recorded', nudge);
      await lease.release();
    },
  };
}

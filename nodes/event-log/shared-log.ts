import type { Node } from 'node-red';
import { type EventLog, EventOutbox, type EventReader, EventReplicator, localReader, PgEventLog, type RecordOutcome, type ReplicationStats } from '../../lib/eventlog';
import { registerHealthCheck, watchReplication } from '../../lib/metrics';
import { PostgresFaceStore, type FaceStore } from '../../lib/store';
import { SharedResource, differingFields } from '../../lib/process';
import { MAX_STATUS, readyStatus, showStatus, warnStatus } from '../shared/status';

/** What the event-log node reads from and, with PostgreSQL, how its events reach every door. */
export interface SharedLog {
  /** The shared log of every door with PostgreSQL, else this door's own. */
  reader: EventReader;
  replicator?: EventReplicator;
  /** Stops replicating (the outbox keeps what is left for next time) and the metrics and health reports. */
  stop(): Promise<void>;
}

/** Under the node: "shared log paused · 12 waiting" (the reason was logged when it went offline). */
function offlineText(stats: ReplicationStats): string {
  const head = stats.paused ? 'shared log paused' : 'shared log offline';
  const withBacklog = `${head} · ${stats.backlog} waiting`;
  return withBacklog.length <= MAX_STATUS ? withBacklog : head;
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

/** One replication per local database file, however many event-log nodes write to it (two would race on one outbox). */
interface Replication {
  replicator: EventReplicator;
  shared: PgEventLog;
  cleanups: Array<() => void>;
}

interface ReplicationSettings {
  log: EventLog;
  store: PostgresFaceStore;
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
 * With the faces on PostgreSQL, this door's event log replicates into the
 * same database (the store's pool, migrated by the store) and reads the
 * shared log; the node's status says when it is unreachable and how much
 * waits. On SQLite alone, replication is off and the outbox empty.
 */
export function startSharedLog(node: Node, log: EventLog, store: FaceStore, options: { maxBacklog?: number } = {}): SharedLog {
  if (!(store instanceof PostgresFaceStore)) {
    new EventOutbox(log.repository, log.snapshots).disable();
    return { reader: localReader(log), stop: async () => undefined };
  }
  const lease = replications.acquire(log.repository.db.name, { log, store, maxBacklog: options.maxBacklog });
  const { replicator, shared } = lease.resource;
  if (lease.conflict) {
    showStatus(node, warnStatus('shared log: other settings'), lease.conflict);
  }
  let wasOffline = false;
  let toldOverflowed = 0;
  const onState = (stats: ReplicationStats) => {
    // The status has no room for it: events past the outbox bound are told in the sidebar, each time more are.
    if (stats.overflowed && stats.overflowed > toldOverflowed) {
      toldOverflowed = stats.overflowed;
      node.warn(`${stats.overflowed} events over the outbox bound will not reach the shared event log; they stay in this door's log`);
    }
    if (stats.state === 'offline') {
      if (!wasOffline) node.warn(`shared event log unreachable, buffering events on this door's disk: ${stats.lastError}`);
      wasOffline = true;
      node.status(warnStatus(offlineText(stats)));
    } else if (stats.state === 'online' && wasOffline) {
      wasOffline = false;
      node.log('shared event log reachable again: buffered events sent');
      node.status(readyStatus('shared log reachable again'));
    }
  };
  const onRejected = (eventId: string, err: Error) => {
    node.warn(`event ${eventId} was refused by the shared event log and stays only in this door's log: ${err.message}`);
  };
  const onForgetFailed = (personId: unknown, err: Error) => node.warn(`could not forget person ${String(personId)} in the shared event log: ${err.message}`);
  const nudge = (outcome: RecordOutcome) => {
    if (outcome.kind === 'verdict' || outcome.kind === 'failure') replicator.nudge();
  };
  replicator.on('state', onState);
  replicator.on('rejected', onRejected);
  replicator.on('forget-failed', onForgetFailed);
  log.on('recorded', nudge);
  return {
    reader: sharedReader(shared, log),
    replicator,
    async stop() {
      log.off('recorded', nudge);
      replicator.off('state', onState);
      replicator.off('rejected', onRejected);
      replicator.off('forget-failed', onForgetFailed);
      await lease.release();
    },
  };
}

export { EventOutbox, DEFAULT_MAX_BACKLOG, DEFAULT_MAX_IMAGE_BYTES, type OutboxBatch, type OutboxOptions } from './outbox';
export { PgEventLog } from './pg-events';
export { EventReplicator, REPLICATION_BREAKER, type ReplicaTarget, type ReplicationState, type ReplicationStats, type ReplicatorOptions } from './replicator';
export { joinSharedLog, replicationUsers, type SharedLog } from './shared';

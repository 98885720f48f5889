/** The public API of lib/eventlog: what code outside lib/ may import from this area. */
export { awaitCommit } from './commits';
export { EventLog, type RecordOutcome } from './event-log';
export { exportChunks, exportEvents, type ExportFormat } from './export';
export { parseEventFilter } from './filter';
export { closeLog, countOutcome, eventLogSummary, finishedStatus, handleLogMessage, sweepText, UNFINISHED_AT_CLOSE, type LogReply, type LogStatus } from './messages';
export { householdWords, shortHouseholdWords, withProblemInWords } from './in-words';
export { type EventReader, localReader } from './reader';
export { DEFAULT_MAX_BACKLOG, EventOutbox, EventReplicator, joinSharedLog, PgEventLog, replicationUsers, type ReplicationStats, type SharedLog } from './replicate';
export { EventRepository, type FaceRecord } from './repository';
export { DEFAULT_RETENTION, RETENTION_BATCH, type RetentionPolicy, type SweepReport } from './retention';
export { isFileSafeEventId, renderEventImages, type SnapshotKind } from './snapshot';
export { databaseHealth, storageUse } from './storage-health';

/**
 * Porchlight's core as a library (no Node-RED import): the same pieces the
 * nodes and the CLI are built from, for scripts of your own.
 */
export { PorchlightError, isPorchlightError, type PorchlightErrorCode } from './errors';
export { newEventId, isEventId } from './events/event-id';
export { ensureEvent, type DoorbellEvent } from './events/event';
export { decodeImage, cropJpeg, DEFAULT_MAX_PIXELS } from './image/decode';
export { WorkerPool, acquireSharedPool, type PoolOptions, type QueuePolicy } from './workers/pool';
export { detectFaces, embedFaces, type DetectRequest, type EmbedRequest } from './engine/client';
export type { AnalyzeResult, EmbeddedFace, FaceQuality } from './vision/embedding-types';
export { openStore, parsePgUrl, type FaceStore, type StoreConfig, type PostgresConfig } from './store';
export { Matcher, attachMatcher, type Match } from './match';
export { decideFace, DEFAULT_DECISION, type FaceDecision } from './recognize/decision';
export { suggestTolerances, applySuggestion, labelEventFace, estimateTolerance, type CalibrationSuggestion } from './calibrate';
export { BurstConsensus, DEFAULT_BURST } from './recognize/burst';
export { EventLog } from './eventlog/event-log';
export { EventOutbox, EventReplicator, PgEventLog, type ReplicationStats } from './eventlog/replicate';
export type { EventReader } from './eventlog/reader';

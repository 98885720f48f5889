/**
 * Porchlight's core as a library (no Node-RED import): the same pieces the
 * nodes and the CLI are built from, for scripts of your own. The three main
 * entry points are the engine (backend choice, worker pool, the face
 * pipeline's calls, model re-embedding), the store (the Porchlight database)
 * and the event log; every other area of lib/ has its own index as well.
 */
export * from './errors';
export * from './engine';
export * from './store';
export * from './eventlog';
// Both the store and the event log name a row `FaceRecord`; the package main means the store's.
export type { FaceRecord } from './store';
export { newEventId, isEventId, ensureEvent, type DoorbellEvent } from './events';
export { decodeImage, cropJpeg, DEFAULT_MAX_PIXELS } from './image';
export type { AnalyzeResult, EmbeddedFace, FaceQuality } from './vision';
export { Matcher, attachMatcher, type Match } from './match';
export { decideFace, DEFAULT_DECISION, type FaceDecision, BurstConsensus, DEFAULT_BURST } from './recognize';
export { suggestTolerances, applySuggestion, labelEventFace, estimateTolerance, type CalibrationSuggestion } from './calibrate';

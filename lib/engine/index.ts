/** The public API of lib/engine: what code outside lib/ may import from this area. */
export { acquireSharedPool, peekSharedPool, type PoolLease, type PoolOptions, QUEUE_POLICIES, type QueuePolicy, WorkerPool } from '../workers/pool';
export type { PingReply, ThreadMemory } from '../workers/tasks';
export { detectFaces, type DetectRequest, embedFaces, type EmbedRequest, isFaceApiDetector } from './client';
export { embedRequestFor, type EnrollImage, enrollImages, facesInPhoto, NothingEnrolledError, type PhotoFace, type PhotoFaces, type Refusal } from './enrollment';
export { type CropEmbedder, poolCropEmbedder, reembedForSelection } from './reembed';
export { BACKEND_CHOICES, type BackendChoice, DETECTOR_KINDS, type DetectorKind, type EngineModels, type EngineSelection, modelIdForSelection, selectBackend, TFJS_SELECTION } from './select';
export { type DetectionOut, detectionMessage, detectedWords, type DetectorChoice, type FaceOut, shortDetectorLabel, warmUpImage, warmUpWords } from './detection';

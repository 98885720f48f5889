/** The public API of lib/camera: what code outside lib/ may import from this area. */
export { Burst, type BurstOptions, type BurstPlace, type BurstSummary, DEFAULT_BURST_OPTIONS } from './burst';
export { DEFAULT_RING_OPTIONS, FrameRing, type StoredFrame } from './frame-ring';
export { startsWithSoi } from './jpeg';
export { MjpegHttpSource } from './mjpeg-source';
export { MultipartJpegParser } from './multipart';
export { DEFAULT_RPICAM_SIZE, ffmpegSource, rpicamSource } from './process-source';
export { SnapshotSource } from './snapshot-source';
export type { FrameSource, SourceState } from './source';
export { type CameraHealth, type CameraSettings, CameraWatch, createFrameSource, fedByMessages, openCamera, SOURCE_KINDS, type SourceKind } from './camera';
export { EventFrames, type EventFramesOptions, type FrameBufferInput, frameIn, type FrameInfo, MAX_CONCURRENT_BURSTS } from './event-frames';

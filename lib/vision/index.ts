/** The public API of lib/vision: what code outside lib/ may import from this area. */
export { alignFace } from './align';
export { createDefaultRegistry } from './detectors';
export { type Embedder, euclidean } from './embedder';
export type { AnalyzeResult, EmbeddedFace, FaceQuality } from './embedding-types';
export { OnnxLandmarks68 } from './onnx/faceapi/landmarks';
export { OnnxFaceApiResNet } from './onnx/faceapi/resnet';
export { OnnxRecognizer } from './onnx/recognizer';
export { MIN_ENROLL_QUALITY } from './quality';
export { FaceApiResNetEmbedder } from './tfjs/faceapi-embedder';
export { locateLandmarks68 } from './tfjs/faceapi-landmarks';
export type { DetectedFace, DetectOptions, Detector } from './types';

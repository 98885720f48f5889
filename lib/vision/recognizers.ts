import { PorchlightError } from '../errors';
import type { Embedder } from './embedder';
import { OnnxFaceApiResNet, type OnnxResNetConfig } from './onnx/faceapi/resnet';
import { OnnxRecognizer, type OnnxRecognizerConfig } from './onnx/recognizer';
import { FaceApiResNetEmbedder } from './tfjs/faceapi-embedder';

/** The recognizer kinds an embed task can name. */
export const RECOGNIZERS = {
  /** face-api's 128-d ResNet descriptor on tfjs-wasm (68-point landmarks, dlib chip). */
  'faceapi-resnet128': () => new FaceApiResNetEmbedder(),
  /** The same network and weights on ONNX Runtime (a graph built from face-api's weights): same embeddings, about 6x faster. */
  'faceapi-resnet128-onnx': (config: Record<string, unknown>) => new OnnxFaceApiResNet(config as OnnxResNetConfig),
  /** A MobileFaceNet / ArcFace-style ONNX model on a 112x112 face aligned on 5 points. */
  onnx: (config: Record<string, unknown>) => new OnnxRecognizer(config as OnnxRecognizerConfig),
} as const;

export type RecognizerName = keyof typeof RECOGNIZERS;

export const DEFAULT_RECOGNIZER: RecognizerName = 'faceapi-resnet128';

/** Creates and loads a recognizer. */
export async function createEmbedder(name: string = DEFAULT_RECOGNIZER, config: Record<string, unknown> = {}): Promise<Embedder> {
  const make = RECOGNIZERS[name as RecognizerName];
  if (!make) throw new PorchlightError('UNKNOWN_RECOGNIZER', `unknown recognizer "${name}"; available: ${Object.keys(RECOGNIZERS).join(', ')}`);
  const embedder = make(config);
  await embedder.load();
  return embedder;
}

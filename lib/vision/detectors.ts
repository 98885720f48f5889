import { DetectorRegistry } from './registry';
import { ssdMobilenetV1OnnxFactory } from './onnx/faceapi/ssd';
import { ultrafaceFactory } from './onnx/ultraface';
import { yunetFactory } from './onnx/yunet';
import { ssdMobilenetV1Factory, tinyFaceDetectorFactory } from './tfjs/faceapi-detectors';

/** The registry every worker uses; the first entry is the fallback of last resort. */
export function createDefaultRegistry(): DetectorRegistry {
  const registry = new DetectorRegistry();
  registry.register(ssdMobilenetV1Factory);
  registry.register(tinyFaceDetectorFactory);
  registry.register(yunetFactory);
  registry.register(ultrafaceFactory);
  registry.register(ssdMobilenetV1OnnxFactory);
  return registry;
}

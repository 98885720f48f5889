import type { RawImage } from '../../image/types';
import { RESNET_CHIP } from '../align';
import type { Embedder } from '../embedder';
import { ensureNet } from './faceapi-runtime';

/** face-api's port of dlib's 128-d ResNet face descriptor, on tfjs-wasm. */
export class FaceApiResNetEmbedder implements Embedder {
  readonly model = 'faceapi-resnet128';
  readonly dimensions = 128;
  readonly chip = RESNET_CHIP;

  async load(): Promise<void> {
    await ensureNet('faceRecognitionNet');
  }

  async embed(chips: RawImage[]): Promise<Float32Array[]> {
    if (chips.length === 0) return [];
    const { faceapi } = await ensureNet('faceRecognitionNet');
    const tf = faceapi.tf;
    const tensors = chips.map((chip) => tf.tensor3d(chip.data, [chip.height, chip.width, 3], 'int32'));
    try {
      // A list of inputs runs as one batch; a single input returns a single descriptor.
      const result = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(tensors.length === 1 ? (tensors[0] as never) : (tensors as never));
      return Array.isArray(result) ? result : [result];
    } finally {
      for (const t of tensors) t.dispose();
    }
  }
}

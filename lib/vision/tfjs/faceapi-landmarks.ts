import { clampBox } from '../../image/decode';
import type { Box, Point, RawImage } from '../../image/types';
import { ensureNet } from './faceapi-runtime';

/**
 * 68-point landmarks for a face whose box is known but whose landmarks are
 * not (a detector run without them, or a 5-point detector): face-api's
 * landmark net on the box, grown a little as face-api's own pipeline does.
 */
export async function locateLandmarks68(image: RawImage, box: Box): Promise<Point[]> {
  const { faceapi } = await ensureNet('faceLandmark68Net');
  const tf = faceapi.tf;
  const region = clampBox(box, image.width, image.height);
  const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  const crop = tf.slice(input, [region.y, region.x, 0], [region.height, region.width, 3]);
  try {
    const found = await faceapi.nets.faceLandmark68Net.detectLandmarks(crop as never);
    const landmarks = Array.isArray(found) ? found[0] : found;
    return landmarks.positions.map((p: Point) => ({ x: p.x + region.x, y: p.y + region.y }));
  } finally {
    crop.dispose();
    input.dispose();
  }
}

import type { Box, RawImage } from '../../../image/types';
import type { PixelFormat } from '../tensor';

/** A region of an image made square and resized the way face-api's `toBatchTensor` does. */
export interface SquareInput {
  /** NCHW, 3 x size x size, normalised with the given format. */
  tensor: Float32Array;
  /** Side of the square before resizing. */
  side: number;
}

/**
 * face-api's input rule: the region padded with black to a square (centred,
 * the odd pixel after; or all at the bottom / right), then resized to size x
 * size with TensorFlow's legacy bilinear rule (source = destination * in / out,
 * no half-pixel centres), then normalised.
 */
export function squareInput(image: RawImage, region: Box, size: number, centred: boolean, format: PixelFormat): SquareInput {
  const side = Math.max(region.width, region.height);
  const diff = side - Math.min(region.width, region.height);
  const before = centred ? diff - Math.round(diff * 0.5) : 0;
  const padX = region.width < region.height ? before : 0;
  const padY = region.height < region.width ? before : 0;
  const source = format.order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  const pixel = (px: number, py: number, c: number): number => {
    const x = px - padX;
    const y = py - padY;
    if (x < 0 || y < 0 || x >= region.width || y >= region.height) return 0;
    return image.data[((region.y + y) * image.width + region.x + x) * image.channels + source[c]];
  };
  const plane = size * size;
  const tensor = new Float32Array(3 * plane);
  const ratio = side / size;
  for (let y = 0; y < size; y++) {
    const sy = y * ratio;
    const y0 = Math.floor(sy);
    const y1 = Math.min(side - 1, Math.ceil(sy));
    const fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const sx = x * ratio;
      const x0 = Math.floor(sx);
      const x1 = Math.min(side - 1, Math.ceil(sx));
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const top = pixel(x0, y0, c) + (pixel(x1, y0, c) - pixel(x0, y0, c)) * fx;
        const bottom = pixel(x0, y1, c) + (pixel(x1, y1, c) - pixel(x0, y1, c)) * fx;
        tensor[c * plane + y * size + x] = (top + (bottom - top) * fy - format.mean[c]) / format.std[c];
      }
    }
  }
  return { tensor, side };
}

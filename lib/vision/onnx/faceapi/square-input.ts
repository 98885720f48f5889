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
  const plane = size * size;
  const tensor = new Float32Array(3 * plane);
  const ratio = side / size;
  // Per output column: the two source columns (in the image, -1 when in the padding) and the weight.
  const cols = new Int32Array(2 * size);
  const colWeight = new Float32Array(size);
  const toImageColumn = (px: number) => (px - padX >= 0 && px - padX < region.width ? region.x + px - padX : -1);
  for (let x = 0; x < size; x++) {
    const sx = x * ratio;
    cols[2 * x] = toImageColumn(Math.floor(sx));
    cols[2 * x + 1] = toImageColumn(Math.min(side - 1, Math.ceil(sx)));
    colWeight[x] = sx - Math.floor(sx);
  }
  const { data, width, channels } = image;
  const sample = (row: number, col: number, c: number) => (row < 0 || col < 0 ? 0 : data[(row * width + col) * channels + c]);
  for (let y = 0; y < size; y++) {
    const sy = y * ratio;
    const py0 = Math.floor(sy) - padY;
    const py1 = Math.min(side - 1, Math.ceil(sy)) - padY;
    const row0 = py0 >= 0 && py0 < region.height ? region.y + py0 : -1;
    const row1 = py1 >= 0 && py1 < region.height ? region.y + py1 : -1;
    const fy = sy - Math.floor(sy);
    for (let c = 0; c < 3; c++) {
      const channel = source[c];
      const mean = format.mean[c];
      const scale = 1 / format.std[c];
      const offset = c * plane + y * size;
      for (let x = 0; x < size; x++) {
        const c0 = cols[2 * x];
        const c1 = cols[2 * x + 1];
        const fx = colWeight[x];
        const a = sample(row0, c0, channel);
        const top = a + (sample(row0, c1, channel) - a) * fx;
        const b = sample(row1, c0, channel);
        const bottom = b + (sample(row1, c1, channel) - b) * fx;
        tensor[offset + x] = (top + (bottom - top) * fy - mean) * scale;
      }
    }
  }
  return { tensor, side };
}

/** Resizes RGB pixels with TensorFlow's legacy bilinear rule (as `tf.image.resizeBilinear` by default), rounded to bytes. */
export function resizeLikeTf(image: RawImage, width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  const ry = image.height / height;
  const rx = image.width / width;
  const at = (x: number, y: number, c: number) => image.data[(y * image.width + x) * image.channels + c];
  for (let y = 0; y < height; y++) {
    const sy = y * ry;
    const y0 = Math.floor(sy);
    const y1 = Math.min(image.height - 1, Math.ceil(sy));
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = x * rx;
      const x0 = Math.floor(sx);
      const x1 = Math.min(image.width - 1, Math.ceil(sx));
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const top = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * fx;
        const bottom = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * fx;
        data[(y * width + x) * 3 + c] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return { data, width, height, channels: 3 };
}

import sharp from 'sharp';
import { iou } from '../../image/box';
import type { Box, RawImage } from '../../image/types';

/** How a model wants its pixels: channel order and per-channel (value - mean) / std on the 0..255 scale. */
export interface PixelFormat {
  order: 'rgb' | 'bgr';
  mean: [number, number, number];
  std: [number, number, number];
}

export const RAW_BGR: PixelFormat = { order: 'bgr', mean: [0, 0, 0], std: [1, 1, 1] };
/** ImageNet statistics, as MobileFaceNet-style recognizers trained in PyTorch expect. */
export const IMAGENET_RGB: PixelFormat = { order: 'rgb', mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };
/** (x - 127.5) / 127.5, the insightface / ArcFace convention. */
export const SYMMETRIC_RGB: PixelFormat = { order: 'rgb', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] };
export const ULTRAFACE_RGB: PixelFormat = { order: 'rgb', mean: [127, 127, 127], std: [128, 128, 128] };

/** Resizes RGB pixels to exactly width x height (libvips, off the JS thread of this worker). */
export async function resizeRgb(image: RawImage, width: number, height: number): Promise<RawImage> {
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels: 3 };
}

/**
 * Writes interleaved RGB pixels into an NCHW float tensor of tensorWidth x
 * tensorHeight, at the top-left corner; the rest (the letterbox) stays at the
 * normalised value of black.
 */
export function toPlanar(image: RawImage, format: PixelFormat, tensorWidth = image.width, tensorHeight = image.height): Float32Array {
  const plane = tensorWidth * tensorHeight;
  const out = new Float32Array(3 * plane);
  const source = format.order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    const mean = format.mean[c];
    const scale = 1 / format.std[c];
    const offset = c * plane;
    out.fill(-mean * scale, offset, offset + plane);
    const channel = source[c];
    const rows = Math.min(image.height, tensorHeight);
    const cols = Math.min(image.width, tensorWidth);
    for (let y = 0; y < rows; y++) {
      let src = y * image.width * image.channels + channel;
      let dst = offset + y * tensorWidth;
      for (let x = 0; x < cols; x++, src += image.channels, dst++) out[dst] = (image.data[src] - mean) * scale;
    }
  }
  return out;
}

/** Greedy non-maximum suppression: best score first, dropping boxes that overlap a kept one by more than `threshold`. */
export function nonMaxSuppression<T extends { box: Box; score: number }>(candidates: T[], threshold: number, limit: number): T[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const candidate of sorted) {
    if (kept.length >= limit) break;
    if (kept.every((k) => iou(k.box, candidate.box) <= threshold)) kept.push(candidate);
  }
  return kept;
}

/** A box from corner coordinates, clipped to the image (sub-pixel, unlike `clampBox`). */
export function clipBox(x: number, y: number, width: number, height: number, image: { width: number; height: number }): Box {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  return { x: x0, y: y0, width: Math.min(image.width, x + width) - x0, height: Math.min(image.height, y + height) - y0 };
}

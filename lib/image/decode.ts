import sharp from 'sharp';
import { PorchlightError } from '../errors';
import type { Box, RawImage } from './types';

/** Default ceiling on decoded pixels: 40 MP covers any doorbell or phone camera. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif']);

export interface DecodeOptions {
  /** Longest side of the decoded image; larger images are shrunk on load. */
  maxSide?: number;
  /** Refuse images whose declared size exceeds this many pixels. */
  maxPixels?: number;
}

/** An image decoded to 8-bit RGB, with the factor that maps back to the source. */
export interface DecodedImage {
  image: RawImage;
  /** Size of the source after EXIF orientation, in pixels. */
  sourceWidth: number;
  sourceHeight: number;
  /** decoded = source * scale. */
  scale: number;
  format: string;
}

/** Raw pixels as accepted on `msg.payload` (`{data, width, height, channels}`). */
export function isRawImageLike(value: unknown): value is RawImage {
  if (!value || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    (v.data instanceof Uint8Array) &&
    Number.isInteger(v.width) &&
    Number.isInteger(v.height) &&
    (v.channels === 1 || v.channels === 3 || v.channels === 4)
  );
}

function megapixels(pixels: number): string {
  return `${Math.round(pixels / 1e6)} MP`;
}

/**
 * Reads only the header: refuses non-images and decompression bombs before
 * a single pixel is decoded.
 */
async function inspect(bytes: Uint8Array, maxPixels: number): Promise<sharp.Metadata> {
  if (bytes.length === 0) throw new PorchlightError('NOT_AN_IMAGE', 'not an image: the buffer is empty');
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new PorchlightError('NOT_AN_IMAGE', `not an image: ${bytes.length} bytes in no known image format`);
  }
  if (!meta.format || !SUPPORTED_FORMATS.has(meta.format)) {
    throw new PorchlightError('UNSUPPORTED_FORMAT', `unsupported image format: ${meta.format ?? 'unknown'}`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new PorchlightError('CORRUPT_IMAGE', 'corrupt image: no dimensions in its header');
  if (width * height > maxPixels) {
    throw new PorchlightError(
      'IMAGE_TOO_LARGE',
      `image is ${width}x${height}, over the ${megapixels(maxPixels)} limit`,
    );
  }
  return meta;
}

function orientedSize(meta: sharp.Metadata): { width: number; height: number } {
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  // EXIF orientations 5-8 swap width and height.
  return (meta.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h };
}

/**
 * Decodes an encoded image (JPEG, PNG, WebP, ...) to 8-bit RGB: EXIF
 * orientation applied, alpha flattened, grayscale / CMYK / 16-bit converted,
 * and shrunk on load so the longest side is at most `maxSide`.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const meta = await inspect(bytes, maxPixels);
  const source = orientedSize(meta);
  const maxSide = options.maxSide ?? Math.max(source.width, source.height);
  const scale = Math.min(1, maxSide / Math.max(source.width, source.height));
  try {
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1 })
      .rotate()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb');
    if (scale < 1) {
      pipeline = pipeline.resize({
        width: Math.max(1, Math.round(source.width * scale)),
        height: Math.max(1, Math.round(source.height * scale)),
        fit: 'fill',
        kernel: 'lanczos3',
      });
    }
    const { data, info } = await pipeline.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return {
      image: { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 },
      sourceWidth: source.width,
      sourceHeight: source.height,
      scale: info.width / source.width,
      format: meta.format ?? 'unknown',
    };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PorchlightError('CORRUPT_IMAGE', `corrupt ${meta.format} image: ${reason}`);
  }
}

/** Converts raw pixels given by the user to RGB, validating their size. */
export function rawToRgb(raw: RawImage, maxPixels = DEFAULT_MAX_PIXELS): RawImage {
  const { width, height, channels, data } = raw;
  if (width <= 0 || height <= 0) throw new PorchlightError('BAD_INPUT', 'raw image needs a positive width and height');
  if (width * height > maxPixels) {
    throw new PorchlightError('IMAGE_TOO_LARGE', `image is ${width}x${height}, over the ${megapixels(maxPixels)} limit`);
  }
  if (data.length !== width * height * channels) {
    throw new PorchlightError(
      'BAD_INPUT',
      `raw image data has ${data.length} bytes, expected ${width}x${height}x${channels} = ${width * height * channels}`,
    );
  }
  if (channels === 3) return raw;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += channels) {
    const r = data[j];
    rgb[i * 3] = r;
    rgb[i * 3 + 1] = channels === 1 ? r : data[j + 1];
    rgb[i * 3 + 2] = channels === 1 ? r : data[j + 2];
  }
  return { data: rgb, width, height, channels: 3 };
}

/** Clamps a box to the image and rounds it to whole pixels. */
export function clampBox(box: Box, width: number, height: number): Box {
  const x = Math.max(0, Math.floor(box.x));
  const y = Math.max(0, Math.floor(box.y));
  const right = Math.min(width, Math.ceil(box.x + box.width));
  const bottom = Math.min(height, Math.ceil(box.y + box.height));
  return { x, y, width: Math.max(1, right - x), height: Math.max(1, bottom - y) };
}

/** Cuts a region (grown by `margin` of its size on each side) out of decoded pixels as a JPEG. */
export async function cropJpeg(image: RawImage, box: Box, options: { margin?: number; size?: number; quality?: number } = {}): Promise<Buffer> {
  const margin = options.margin ?? 0.2;
  const grown = clampBox(
    {
      x: box.x - box.width * margin,
      y: box.y - box.height * margin,
      width: box.width * (1 + 2 * margin),
      height: box.height * (1 + 2 * margin),
    },
    image.width,
    image.height,
  );
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).extract({
    left: grown.x,
    top: grown.y,
    width: grown.width,
    height: grown.height,
  });
  if (options.size) pipeline = pipeline.resize(options.size, options.size, { fit: 'inside' });
  return pipeline.jpeg({ quality: options.quality ?? 85 }).toBuffer();
}

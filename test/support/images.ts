/**
 * Bad and odd images for the decoding and detection tests, made on the fly
 * from the real demo photos (nothing is stored in the repo).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { faceApiDemoDir } from './paths';

/** One of face-api's six demo group photos (sample1..6.jpg). */
export function demoPhoto(n: number): Buffer {
  return fs.readFileSync(path.join(faceApiDemoDir, `sample${n}.jpg`));
}

/** Faces in each demo photo, sample1..6. */
export const DEMO_FACE_COUNTS = [3, 3, 3, 4, 5, 4];

/** The first half of a real JPEG: a header that promises more data than arrives. */
export function truncatedJpeg(): Buffer {
  const whole = demoPhoto(1);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

export function textFile(): Buffer {
  return Buffer.from('Porchlight: this is a plain text file, not a picture.\n'.repeat(20));
}

export function onePixelPng(): Promise<Buffer> {
  return sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/**
 * A decompression bomb in miniature: a valid PNG header (with a correct CRC)
 * claiming `width` x `height` RGB pixels, followed by a tiny compressed body.
 */
export function pngClaimingSize(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  // compression, filter and interlace methods stay 0
  const firstRows = zlib.deflateSync(Buffer.alloc((width * 3 + 1) * 4));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', firstRows),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A demo photo as a PNG whose background is transparent (only an ellipse around the faces stays opaque). */
export async function pngWithAlpha(n = 1): Promise<Buffer> {
  const { width, height } = await sharp(demoPhoto(n)).metadata();
  const mask = Buffer.from(
    `<svg width="${width}" height="${height}"><ellipse cx="${width / 2}" cy="${height / 2}" rx="${width / 2}" ry="${height / 2}" fill="#fff"/></svg>`,
  );
  return sharp(demoPhoto(n))
    .ensureAlpha()
    .composite([{ input: mask, blend: 'dest-in' }])
    .png()
    .toBuffer();
}

/** A single-channel JPEG (`grayscale()` alone would still write three channels). */
export function grayscaleJpeg(n = 1): Promise<Buffer> {
  return sharp(demoPhoto(n)).toColourspace('b-w').jpeg().toBuffer();
}

export function cmykJpeg(n = 1): Promise<Buffer> {
  return sharp(demoPhoto(n)).toColourspace('cmyk').jpeg().toBuffer();
}

/** A demo photo as a 16-bit-per-channel PNG. */
export function png16(n = 1): Promise<Buffer> {
  return sharp(demoPhoto(n)).toColourspace('rgb16').png().toBuffer();
}

/** Pixel rotation (clockwise degrees) that EXIF orientation `o` undoes when displayed. */
const STORED_ROTATION: Record<3 | 6 | 8, number> = { 3: 180, 6: 270, 8: 90 };

/**
 * A demo photo stored sideways or upside down, with the EXIF orientation tag
 * that tells a viewer how to turn it upright: decoded correctly, it is the
 * upright photo again.
 */
export function exifRotatedJpeg(orientation: 3 | 6 | 8, n = 1): Promise<Buffer> {
  return sharp(demoPhoto(n)).rotate(STORED_ROTATION[orientation]).withMetadata({ orientation }).jpeg().toBuffer();
}

/** A demo photo cover-resized to a camera frame size, as a JPEG. */
export function frameJpeg(n: number, width: number, height: number): Promise<Buffer> {
  return sharp(demoPhoto(n)).resize(width, height, { fit: 'cover' }).jpeg({ quality: 85 }).toBuffer();
}

/**
 * More bad and odd inputs for the reliability corpus, beside `images.ts`:
 * other files passed off as images, a JPEG whose header declares a huge
 * frame, a damaged JPEG, a palette PNG and a real animated GIF.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { demoPhoto } from './images';
import { videosDir } from './paths';

export function htmlPage(): Buffer {
  return Buffer.from('<!doctype html><html><head><title>404</title></head><body><h1>Not Found</h1><script>alert(1)</script></body></html>\n');
}

/** A real zip archive (one stored text file), as a camera's web UI might serve by mistake. */
export function zipArchive(): Buffer {
  const name = Buffer.from('readme.txt');
  const body = Buffer.from('not a picture\n');
  const crc = zlib.crc32(body);
  // The local and the central header both hold the file's CRC, its sizes (stored: equal) and its name's length.
  const describeFile = (header: Buffer, at: number) => {
    header.writeUInt32LE(crc, at);
    header.writeUInt32LE(body.length, at + 4);
    header.writeUInt32LE(body.length, at + 8);
    header.writeUInt16LE(name.length, at + 12);
  };
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4); // version needed
  describeFile(local, 14);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  describeFile(central, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + body.length, 16);
  return Buffer.concat([local, name, body, central, name, end]);
}

/** A real JPEG whose start-of-frame header is rewritten to declare `width` x `height`. */
export function jpegDeclaring(width: number, height: number): Buffer {
  const jpeg = Buffer.from(demoPhoto(1));
  for (let i = 2; i < jpeg.length - 9; ) {
    if (jpeg[i] !== 0xff) throw new Error('lost the JPEG marker chain');
    const marker = jpeg[i + 1];
    if (marker >= 0xc0 && marker <= 0xc2) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
    i += 2 + jpeg.readUInt16BE(i + 2);
  }
  throw new Error('no start-of-frame marker');
}

/** A real JPEG with a run of its entropy-coded bytes overwritten by noise (header intact). */
export function corruptJpeg(): Buffer {
  const jpeg = Buffer.from(demoPhoto(1));
  const start = Math.floor(jpeg.length * 0.3);
  for (let i = 0; i < 4096; i++) jpeg[start + i] = (i * 131 + 7) & 0xff;
  return jpeg;
}

export function palettePng(n = 1): Promise<Buffer> {
  return sharp(demoPhoto(n)).png({ palette: true, colours: 64 }).toBuffer();
}

/** A real animated GIF: one of the Intel sample clips of people walking towards a camera. */
export function animatedGif(): Buffer {
  return fs.readFileSync(path.join(videosDir, 'head-pose-face-detection-female.gif'));
}

import assert from 'node:assert/strict';
import sharp from 'sharp';
import { isPorchlightError, type PorchlightErrorCode } from '../../../lib/errors';
import { clampBox, cropJpeg, decodeImage, rawToRgb, type DecodedImage } from '../../../lib/image/decode';
import type { RawImage } from '../../../lib/image/types';
import {
  cmykJpeg,
  demoPhoto,
  exifRotatedJpeg,
  grayscaleJpeg,
  onePixelPng,
  png16,
  pngClaimingSize,
  pngWithAlpha,
  textFile,
  truncatedJpeg,
} from '../../support/images';

/** Average per-byte difference of two decoded images of the same size. */
function meanAbsDiff(a: RawImage, b: RawImage): number {
  assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels], 'same size');
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}

async function decodeFails(bytes: Uint8Array, code: PorchlightErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(decodeImage(bytes), (err) => {
    assert.ok(isPorchlightError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('image decoding (lib/image/decode)', function () {
  this.timeout(30_000);

  let upright: DecodedImage;
  before(async () => {
    upright = await decodeImage(demoPhoto(1), { maxSide: 640 });
  });

  describe('refuses what is not a usable image, with a message a user understands', () => {
    it('an empty Buffer', () => decodeFails(Buffer.alloc(0), 'NOT_AN_IMAGE', /not an image: the buffer is empty/));

    it('a text file', () => decodeFails(textFile(), 'NOT_AN_IMAGE', /not an image: 1080 bytes in no known image format/));

    it('a truncated JPEG', () => decodeFails(truncatedJpeg(), 'CORRUPT_IMAGE', /corrupt jpeg image: .*premature end/i));

    it('a PNG whose header claims 30000x30000, before decoding any pixel', async () => {
      const started = Date.now();
      await decodeFails(pngClaimingSize(30000, 30000), 'IMAGE_TOO_LARGE', /^image is 30000x30000, over the 40 MP limit$/);
      assert.ok(Date.now() - started < 1000, 'refused from the header alone');
    });

    it('an image over a lower configured limit', async () => {
      await assert.rejects(decodeImage(demoPhoto(1), { maxPixels: 2_000_000 }), /image is 1920x1280, over the 2 MP limit/);
    });
  });

  describe('turns every odd image into 8-bit RGB', () => {
    it('a 1x1 image', async () => {
      const { image, sourceWidth, sourceHeight } = await decodeImage(await onePixelPng());
      assert.deepEqual([image.width, image.height, image.channels, image.data.length], [1, 1, 3, 3]);
      assert.deepEqual([sourceWidth, sourceHeight], [1, 1]);
      assert.deepEqual([...image.data], [128, 128, 128]);
    });

    it('shrinks on load to the longest side asked for, and reports the scale back to the source', async () => {
      assert.deepEqual([upright.image.width, upright.image.height], [640, 427]);
      assert.deepEqual([upright.sourceWidth, upright.sourceHeight], [1920, 1280]);
      assert.equal(upright.scale, 640 / 1920);
      assert.equal(upright.image.data.length, 640 * 427 * 3);
    });

    it('a PNG with alpha: transparent pixels become white, opaque ones stay', async () => {
      const { image } = await decodeImage(await pngWithAlpha(), { maxSide: 640 });
      assert.equal(image.channels, 3);
      assert.deepEqual([...image.data.subarray(0, 3)], [255, 255, 255], 'transparent corner is white');
      const centre = (Math.floor(image.height / 2) * image.width + Math.floor(image.width / 2)) * 3;
      assert.deepEqual([...image.data.subarray(centre, centre + 3)], [...upright.image.data.subarray(centre, centre + 3)]);
    });

    it('a single-channel grayscale JPEG becomes three equal channels', async () => {
      const input = await grayscaleJpeg();
      assert.equal((await sharp(input).metadata()).channels, 1);
      const { image } = await decodeImage(input, { maxSide: 640 });
      assert.equal(image.channels, 3);
      for (let i = 0; i < image.data.length; i += 997 * 3) {
        assert.equal(image.data[i], image.data[i + 1]);
        assert.equal(image.data[i], image.data[i + 2]);
      }
    });

    it('a CMYK JPEG keeps its colours', async () => {
      const input = await cmykJpeg();
      assert.equal((await sharp(input).metadata()).space, 'cmyk');
      const { image } = await decodeImage(input, { maxSide: 640 });
      // CMYK round trips through an ICC profile; an inverted or raw-channel decode would differ by ~100.
      assert.ok(meanAbsDiff(image, upright.image) < 15);
    });

    it('a 16-bit PNG is scaled down to 8 bits, not clipped', async () => {
      const input = await png16();
      assert.equal((await sharp(input).metadata()).depth, 'ushort');
      const { image } = await decodeImage(input, { maxSide: 640 });
      assert.ok(meanAbsDiff(image, upright.image) < 2);
    });

    for (const orientation of [3, 6, 8] as const) {
      it(`applies EXIF orientation ${orientation}: the photo comes out upright`, async () => {
        const input = await exifRotatedJpeg(orientation);
        const stored = await sharp(input).metadata();
        assert.equal(stored.orientation, orientation);
        const decoded = await decodeImage(input, { maxSide: 640 });
        assert.deepEqual([decoded.sourceWidth, decoded.sourceHeight], [1920, 1280]);
        assert.ok(meanAbsDiff(decoded.image, upright.image) < 3);
      });
    }

    it('a WebP', async () => {
      const webp = await sharp(demoPhoto(1)).webp().toBuffer();
      const { image, format } = await decodeImage(webp, { maxSide: 640 });
      assert.equal(format, 'webp');
      assert.ok(meanAbsDiff(image, upright.image) < 8);
    });
  });

  describe('raw pixels', () => {
    it('converts 1 and 4 channels to RGB', () => {
      const gray = rawToRgb({ data: Uint8Array.from([10, 20]), width: 2, height: 1, channels: 1 });
      assert.deepEqual([...gray.data], [10, 10, 10, 20, 20, 20]);
      const rgba = rawToRgb({ data: Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 255]), width: 2, height: 1, channels: 4 });
      assert.deepEqual([...rgba.data], [1, 2, 3, 4, 5, 6]);
    });

    it('refuses data of the wrong length', () => {
      assert.throws(
        () => rawToRgb({ data: new Uint8Array(10), width: 2, height: 2, channels: 3 }),
        (err) => isPorchlightError(err, 'BAD_INPUT') && /has 10 bytes, expected 2x2x3 = 12/.test(err.message),
      );
    });
  });

  describe('crops', () => {
    it('clamps a box that leaves the image', () => {
      assert.deepEqual(clampBox({ x: -5.5, y: 10.2, width: 30, height: 100 }, 20, 50), { x: 0, y: 10, width: 20, height: 40 });
    });

    it('cuts a face with a margin as a JPEG', async () => {
      const jpeg = await cropJpeg(upright.image, { x: 100, y: 100, width: 50, height: 60 }, { margin: 0.2 });
      const meta = await sharp(jpeg).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.deepEqual([meta.width, meta.height], [70, 84]);
    });
  });
});

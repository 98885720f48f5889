/**
 * JPEG structure without decoding: where a JPEG ends in a byte stream, and its
 * size from the SOF header. Both walk the marker segments, so an EXIF
 * thumbnail (a whole JPEG inside an APP1 segment) never looks like a frame end.
 */

const MARKER = 0xff;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

export function startsWithSoi(bytes: Uint8Array, at = 0): boolean {
  return bytes[at] === MARKER && bytes[at + 1] === SOI;
}

/** Markers that stand alone, without a length field (TEM and the restart markers). */
function isStandalone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
}

/** Where a resumable scan has got to; start with `newScan(offsetOfSoi)`. */
export interface JpegScan {
  pos: number;
  inEntropyData: boolean;
}

export function newScan(soiOffset: number): JpegScan {
  return { pos: soiOffset + 2, inEntropyData: false };
}

/**
 * Continues a scan over `bytes` (the same buffer, possibly grown since the
 * last call). Returns the offset just past the EOI marker, `'more'` when the
 * data ends first (call again with more bytes), or `'invalid'` when the bytes
 * cannot be a JPEG (e.g. a new SOI before the previous image ended, which is
 * what a truncated frame followed by the next one looks like).
 */
export function continueScan(bytes: Buffer, scan: JpegScan): number | 'more' | 'invalid' {
  const end = bytes.length;
  for (;;) {
    if (scan.inEntropyData) {
      // Inside entropy-coded data 0xFF is followed by 0x00 (a stuffed byte), a
      // restart marker, fill 0xFF, or the marker that ends the scan.
      const ff = bytes.indexOf(MARKER, scan.pos);
      if (ff < 0 || ff + 1 >= end) {
        scan.pos = ff < 0 ? end : ff;
        return 'more';
      }
      const next = bytes[ff + 1];
      if (next === 0x00 || next === MARKER || (next >= 0xd0 && next <= 0xd7)) {
        scan.pos = ff + (next === MARKER ? 1 : 2);
        continue;
      }
      if (next === EOI) return ff + 2;
      // Another segment (progressive JPEGs have several scans).
      scan.inEntropyData = false;
      scan.pos = ff;
      continue;
    }
    if (scan.pos + 1 >= end) return 'more';
    if (bytes[scan.pos] !== MARKER) return 'invalid';
    const marker = bytes[scan.pos + 1];
    if (marker === MARKER) {
      scan.pos++; // fill byte before a marker
      continue;
    }
    if (marker === EOI) return scan.pos + 2;
    if (marker === SOI || marker === 0x00) return 'invalid';
    if (isStandalone(marker)) {
      scan.pos += 2;
      continue;
    }
    if (scan.pos + 3 >= end) return 'more';
    const length = bytes.readUInt16BE(scan.pos + 2);
    if (length < 2) return 'invalid';
    scan.pos += 2 + length;
    if (marker === SOS) scan.inEntropyData = true;
  }
}

/** Offset just past the EOI of the JPEG starting at `start`, or undefined if it is not a whole JPEG. */
export function jpegEnd(bytes: Buffer, start = 0): number | undefined {
  if (!startsWithSoi(bytes, start)) return undefined;
  const result = continueScan(bytes, newScan(start));
  return typeof result === 'number' ? result : undefined;
}

/** True when `bytes` holds exactly one whole JPEG (trailing CR/LF/space allowed). */
export function isWholeJpeg(bytes: Buffer): boolean {
  const end = jpegEnd(bytes);
  if (end === undefined) return false;
  for (let i = end; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== 0x0d && b !== 0x0a && b !== 0x20 && b !== 0x00) return false;
  }
  return true;
}

/**
 * Width and height from the first SOF segment, read from the header alone
 * (a few dozen bytes touched, nothing decoded). Undefined if there is none.
 */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (!startsWithSoi(bytes)) return undefined;
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let pos = 2;
  while (pos + 3 < view.length) {
    if (view[pos] !== MARKER) return undefined;
    const marker = view[pos + 1];
    if (marker === MARKER) {
      pos++;
      continue;
    }
    if (isStandalone(marker)) {
      pos += 2;
      continue;
    }
    if (marker === SOS || marker === EOI) return undefined;
    const length = view.readUInt16BE(pos + 2);
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC) which share the range.
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (pos + 9 > view.length) return undefined;
      return { height: view.readUInt16BE(pos + 5), width: view.readUInt16BE(pos + 7) };
    }
    pos += 2 + length;
  }
  return undefined;
}

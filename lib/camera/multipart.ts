import { ByteQueue } from './byte-queue';
import { continueScan, newScan, startsWithSoi, type JpegScan } from './jpeg';
import { DEFAULT_MAX_FRAME_BYTES, type SplitterCallbacks } from './jpeg-splitter';

/** The boundary declared in a `multipart/x-mixed-replace; boundary=...` Content-Type, if any. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = match?.[1] ?? match?.[2];
  return boundary || undefined;
}

const MAX_HEADER_BYTES = 8 * 1024;
/** Bytes without the declared boundary, at the start of a stream, before the parser looks for another. */
const RELEARN_AFTER_BYTES = 64 * 1024;

function isBlank(bytes: Buffer): boolean {
  return bytes.every((b) => b === 0x0d || b === 0x0a || b === 0x20 || b === 0x09 || b === 0x2d /* '-' */);
}

/**
 * Streaming parser for MJPEG over HTTP (`multipart/x-mixed-replace`).
 *
 * Cameras get this format wrong in many ways: boundaries declared with or
 * without their leading dashes, missing or wrong Content-Length, no blank line
 * after the part headers, parts cut short. So the parser trusts neither the
 * framing nor the lengths: it finds the declared boundary string (whatever
 * dashes surround it), skips the part headers, and takes the body's end from
 * the JPEG's own structure. Anything that is not a whole JPEG (a garbled
 * boundary, a truncated or non-image part) is skipped up to the next boundary
 * and reported through `problem`, and parsing carries on.
 */
export class MultipartJpegParser {
  private readonly queue = new ByteQueue();
  /** `queue.bytes` as of the last push: what the steps below search. */
  private pending: Buffer = Buffer.alloc(0);
  private pos = 0;
  private state: 'boundary' | 'headers' | 'body' = 'boundary';
  private marker: Buffer | undefined;
  private bodyStart = 0;
  private scan: JpegScan = newScan(0);
  private sawFrame = false;
  /** Skipping bytes already reported as a problem. */
  private inJunk = false;

  constructor(
    boundary: string | undefined,
    private readonly callbacks: SplitterCallbacks,
    private readonly maxPartBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {
    this.marker = boundary ? Buffer.from(boundary, 'latin1') : undefined;
  }

  push(chunk: Buffer): void {
    this.queue.consume(this.pos);
    this.bodyStart -= this.pos;
    this.scan.pos -= this.pos;
    this.pos = 0;
    this.queue.append(chunk);
    this.pending = this.queue.bytes;
    while (this.step()) {
      // each step consumes a boundary line, the headers or a body
    }
  }

  /** Advances one state; false when more bytes are needed. */
  private step(): boolean {
    switch (this.state) {
      case 'boundary':
        return this.findBoundary();
      case 'headers':
        return this.skipHeaders();
      case 'body':
        return this.readBody();
    }
  }

  private findBoundary(): boolean {
    this.marker ??= this.learnBoundary();
    const at = this.marker ? this.findBoundaryLine(this.pos) : -1;
    if (at < 0) {
      if (!this.sawFrame) {
        // Until a first frame, keep the bytes: if the declared boundary never
        // shows up, the camera uses another one, and the stream says which.
        if (this.pending.length - this.pos < RELEARN_AFTER_BYTES) return false;
        if (this.relearnBoundary()) return true;
      }
      // Keep enough bytes for a boundary split across chunks.
      const keep = this.marker ? this.marker.length + 4 : MAX_HEADER_BYTES;
      const dropTo = Math.max(this.pos, this.pending.length - keep);
      if (!isBlank(this.pending.subarray(this.pos, dropTo))) this.skipped(dropTo - this.pos);
      this.pos = dropTo;
      return false;
    }
    const lineEnd = this.pending.indexOf(0x0a, at + this.marker!.length);
    if (lineEnd < 0) return false;
    if (!isBlank(this.pending.subarray(this.pos, at))) this.skipped(at - this.pos);
    this.inJunk = false;
    this.pos = lineEnd + 1;
    this.state = 'headers';
    return true;
  }

  /**
   * The next boundary that starts a line (after any dashes), so that the
   * boundary's letters inside a JPEG's bytes are never taken for one.
   */
  private findBoundaryLine(from: number): number {
    const marker = this.marker!;
    for (let at = this.pending.indexOf(marker, from); at >= 0; at = this.pending.indexOf(marker, at + 1)) {
      let lineStart = at;
      while (lineStart > from && this.pending[lineStart - 1] === 0x2d /* '-' */) lineStart--;
      if (lineStart === from || this.pending[lineStart - 1] === 0x0a) return at;
    }
    return -1;
  }

  /** Takes the boundary from the stream instead of the declared one; true if it found a different one. */
  private relearnBoundary(): boolean {
    const found = this.learnBoundary();
    if (!found || !this.marker || found.equals(this.marker)) return false;
    this.callbacks.problem(`the camera declared boundary "${this.marker.toString('latin1')}" but uses "${found.toString('latin1')}"`);
    this.marker = found;
    return true;
  }

  /** The boundary as the stream writes it: the first line that starts with `--`. */
  private learnBoundary(): Buffer | undefined {
    const head = this.pending.toString('latin1', this.pos, Math.min(this.pending.length, this.pos + MAX_HEADER_BYTES));
    const match = /(?:^|\n)--([^\r\n]{1,200})\r?\n/.exec(head);
    return match ? Buffer.from(match[1], 'latin1') : undefined;
  }

  private skipHeaders(): boolean {
    let lineStart = this.pos;
    for (;;) {
      if (this.pending.length - lineStart < 2) return false;
      if (startsWithSoi(this.pending, lineStart)) break;
      const newline = this.pending.indexOf(0x0a, lineStart);
      if (newline < 0 || newline - this.pos > MAX_HEADER_BYTES) {
        if (this.pending.length - this.pos <= MAX_HEADER_BYTES) return false;
        this.dropPart('part headers too long');
        return true;
      }
      const empty = newline === lineStart || (newline === lineStart + 1 && this.pending[lineStart] === 0x0d);
      lineStart = newline + 1;
      if (empty) break;
    }
    this.pos = lineStart;
    this.state = 'body';
    this.bodyStart = this.pos;
    this.scan = newScan(this.pos);
    return true;
  }

  private readBody(): boolean {
    if (this.pending.length - this.bodyStart < 2) return false;
    if (!startsWithSoi(this.pending, this.bodyStart)) {
      this.dropPart('part is not a JPEG');
      return true;
    }
    const result = continueScan(this.pending, this.scan);
    if (result === 'more') {
      if (this.pending.length - this.bodyStart <= this.maxPartBytes) return false;
      this.dropPart(`part over ${this.maxPartBytes} bytes dropped`);
      this.pos = this.pending.length;
      return false;
    }
    if (result === 'invalid') {
      this.dropPart('broken part dropped');
      this.pos = this.bodyStart + 2;
      return true;
    }
    this.callbacks.frame(Buffer.from(this.pending.subarray(this.bodyStart, result)));
    this.sawFrame = true;
    this.pos = result;
    this.state = 'boundary';
    return true;
  }

  /** Junk before a boundary is one problem, however many chunks it spans. */
  private skipped(bytes: number): void {
    if (!this.inJunk) this.callbacks.problem(`skipped ${bytes} bytes before a boundary`);
    this.inJunk = true;
  }

  /** A part was dropped: the rest of it, up to the next boundary, is skipped without a second count. */
  private dropPart(reason: string): void {
    this.callbacks.problem(reason);
    this.inJunk = true;
    this.state = 'boundary';
  }
}

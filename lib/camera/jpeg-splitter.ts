import { ByteQueue } from './byte-queue';
import { continueScan, newScan, type JpegScan } from './jpeg';

/** Frames larger than this are not camera frames; the splitter drops them and resynchronises. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export interface SplitterCallbacks {
  frame(jpeg: Buffer): void;
  /** Bytes that were skipped: garbage between frames, a truncated or oversized frame. */
  problem(reason: string): void;
}

const SOI_PATTERN = Buffer.from([0xff, 0xd8, 0xff]);

/**
 * Cuts a concatenated JPEG byte stream (ffmpeg `-f mjpeg`, `rpicam-vid --codec
 * mjpeg`) into frames, whatever the chunk sizes: scans for SOI, then follows
 * the JPEG's own structure to its EOI. Each frame is copied out, so a stored
 * frame never pins a larger chunk in memory.
 */
export class JpegStreamSplitter {
  private readonly queue = new ByteQueue();
  /** Offset of the current frame's SOI in `pending`, or -1 while looking for one. */
  private frameStart = -1;
  private scan: JpegScan = newScan(0);

  constructor(
    private readonly callbacks: SplitterCallbacks,
    private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {}

  push(chunk: Buffer): void {
    this.queue.append(chunk);
    const pending = this.queue.bytes;
    let consumed = 0;
    for (;;) {
      if (this.frameStart < 0) {
        const soi = pending.indexOf(SOI_PATTERN, consumed);
        if (soi < 0) {
          // Keep the last two bytes: an SOI may straddle the chunk boundary.
          const keepFrom = Math.max(consumed, pending.length - 2);
          if (keepFrom > consumed) this.callbacks.problem(`skipped ${keepFrom - consumed} bytes between frames`);
          consumed = keepFrom;
          break;
        }
        if (soi > consumed) this.callbacks.problem(`skipped ${soi - consumed} bytes between frames`);
        this.frameStart = soi;
        this.scan = newScan(soi);
      }
      const result = continueScan(pending, this.scan);
      if (result === 'more') {
        if (pending.length - this.frameStart > this.maxFrameBytes) {
          this.callbacks.problem(`frame over ${this.maxFrameBytes} bytes dropped`);
          this.frameStart = -1;
          consumed = pending.length;
        } else {
          consumed = this.frameStart;
        }
        break;
      }
      if (result === 'invalid') {
        this.callbacks.problem('broken frame dropped');
        consumed = this.frameStart + 2;
        this.frameStart = -1;
        continue;
      }
      this.callbacks.frame(Buffer.from(pending.subarray(this.frameStart, result)));
      consumed = result;
      this.frameStart = -1;
    }
    this.rebase(consumed);
  }

  /** Drops the consumed prefix; offsets into the queue move with it. */
  private rebase(consumed: number): void {
    if (consumed === 0) return;
    this.queue.consume(consumed);
    if (this.frameStart >= 0) {
      this.frameStart -= consumed;
      this.scan.pos -= consumed;
    }
  }

  /** Bytes held for an unfinished frame. */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  reset(): void {
    this.queue.clear();
    this.frameStart = -1;
  }
}

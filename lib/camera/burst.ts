import type { FrameRing, StoredFrame } from './frame-ring';

export interface BurstOptions {
  /** Frames from before the trigger, sent first (oldest first). */
  preRoll: number;
  /** Frames after the trigger. */
  count: number;
  /** Spacing of the burst frames, ms. */
  intervalMs: number;
}

export const DEFAULT_BURST_OPTIONS: BurstOptions = { preRoll: 5, count: 5, intervalMs: 200 };

export interface BurstSummary {
  preRoll: number;
  burst: number;
  /** Burst slots in which no new frame arrived (a slow or stalled camera). */
  missed: number;
}

/**
 * One trigger's frames: the pre-roll at once (synchronously, so the first
 * frame leaves within the trigger's own tick), then `count` slots opening
 * every `intervalMs` from the trigger. Each slot takes the newest frame not
 * sent yet, or the next one to arrive before the following slot opens; a slot
 * that gets none is counted as missed, so a stalled camera cannot hold the
 * burst open for longer than `count * intervalMs`. A frame is never sent twice.
 */
export class Burst {
  private lastSeq: number;
  private slotsOpened = 0;
  private sent = 0;
  private missed = 0;
  private waiting = false;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly preRollSent: number;
  private readonly startedAt = Date.now();
  private readonly onRingFrame = (frame: StoredFrame) => {
    if (this.waiting) {
      this.waiting = false;
      this.take(frame);
    }
  };

  constructor(
    private readonly ring: FrameRing,
    private readonly options: BurstOptions,
    private readonly onFrame: (frame: StoredFrame, preRoll: boolean) => void,
    private readonly onDone: (summary: BurstSummary) => void,
  ) {
    const preRoll = ring.recent(options.preRoll);
    this.lastSeq = ring.latest()?.seq ?? 0;
    for (const frame of preRoll) onFrame(frame, true);
    this.preRollSent = preRoll.length;
    if (options.count <= 0) {
      this.finish();
      return;
    }
    ring.on('frame', this.onRingFrame);
    this.openSlot();
  }

  private openSlot(): void {
    if (this.finished) return;
    if (this.waiting) {
      this.waiting = false;
      this.missed++;
    }
    if (this.slotsOpened === this.options.count) {
      this.finish();
      return;
    }
    this.slotsOpened++;
    // The next slot (or, after the last one, the end of the burst) opens on schedule from the trigger.
    const nextAt = this.startedAt + this.slotsOpened * this.options.intervalMs;
    this.timer = setTimeout(() => this.openSlot(), Math.max(0, nextAt - Date.now()));
    const latest = this.ring.latest();
    if (latest && latest.seq > this.lastSeq) this.take(latest);
    else this.waiting = true;
  }

  private take(frame: StoredFrame): void {
    this.lastSeq = frame.seq;
    this.sent++;
    this.onFrame(frame, false);
    if (this.sent + this.missed === this.options.count) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.ring.off('frame', this.onRingFrame);
    this.onDone({ preRoll: this.preRollSent, burst: this.sent, missed: this.missed });
  }

  /** Stops the burst early (node closing); `onDone` is not called. */
  cancel(): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.ring.off('frame', this.onRingFrame);
  }

  get done(): boolean {
    return this.finished;
  }
}

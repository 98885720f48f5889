import { EventEmitter } from 'node:events';
import { Backoff } from '../process/backoff';

/**
 * - `connecting`: first attempt, no frame yet;
 * - `streaming`: frames arriving;
 * - `reconnecting`: the camera went away or stalled; retrying with backoff;
 * - `error`: a problem the user must fix (a missing program, bad credentials); still retried, slowly;
 * - `stopped`.
 */
export type SourceState = 'connecting' | 'streaming' | 'reconnecting' | 'error' | 'stopped';

export interface FrameSourceEvents {
  /** One whole JPEG, exactly as the camera sent it. */
  frame: [jpeg: Buffer];
  state: [state: SourceState, detail: string];
  /** Bytes skipped or a part dropped (a broken boundary, a truncated frame). */
  problem: [reason: string];
}

/** Where frames come from: every camera kind behind one interface. */
export interface FrameSource extends EventEmitter<FrameSourceEvents> {
  /** For status and logs, e.g. `ffmpeg rtsp://door`. */
  readonly label: string;
  readonly state: SourceState;
  /** Count of problems seen (skipped bytes, dropped parts). */
  readonly problems: number;
  start(): void;
  /** Stops sockets, timers and child processes; resolves when they are gone. */
  stop(): Promise<void>;
}

export interface ReconnectOptions {
  /** A connected source that yields no frame for this long is dropped and reconnected. */
  staleAfterMs?: number;
  backoff?: Backoff;
}

export const DEFAULT_STALE_AFTER_MS = 5_000;

/**
 * The connection lifecycle every network or process source shares: connect,
 * watch for frames, and on a drop, a stall or an exit, reconnect with backoff
 * until stopped. Subclasses supply `connect` and `disconnect` and report
 * through `frameArrived`, `problem` and `connectionLost`.
 */
export abstract class ReconnectingSource extends EventEmitter<FrameSourceEvents> implements FrameSource {
  state: SourceState = 'stopped';
  problems = 0;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastActivityAt = 0;
  protected readonly backoff: Backoff;
  protected readonly staleAfterMs: number;

  constructor(
    readonly label: string,
    options: ReconnectOptions = {},
  ) {
    super();
    this.backoff = options.backoff ?? new Backoff();
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  }

  /** Opens the connection or process; must report back through the protected methods. */
  protected abstract connect(): void;
  /** Closes whatever `connect` opened; resolves when it is closed. */
  protected abstract disconnect(): Promise<void>;

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState('connecting', this.label);
    this.connectNow();
    const checkEvery = Math.max(50, Math.min(1000, this.staleAfterMs / 2));
    this.watchdog = setInterval(() => this.checkStale(), checkEvery);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    this.retryTimer = undefined;
    await this.disconnect();
    this.setState('stopped', '');
  }

  protected get isStopped(): boolean {
    return this.stopped;
  }

  private connectNow(): void {
    this.retryTimer = undefined;
    if (this.stopped) return;
    this.lastActivityAt = Date.now();
    this.connect();
  }

  private checkStale(): void {
    if (this.retryTimer || this.stopped) return;
    const silentMs = Date.now() - this.lastActivityAt;
    if (silentMs > this.staleAfterMs) this.connectionLost(`no frame for ${Math.round(silentMs / 1000)} s`);
  }

  protected frameArrived(jpeg: Buffer): void {
    if (this.stopped) return;
    this.lastActivityAt = Date.now();
    if (this.state !== 'streaming') {
      this.backoff.reset();
      this.setState('streaming', this.label);
    }
    this.emit('frame', jpeg);
  }

  protected problem(reason: string): void {
    this.problems++;
    this.emit('problem', reason);
  }

  /**
   * The connection failed, dropped or stalled: close it and try again after
   * the backoff. Repeated reports about the same failure are ignored.
   */
  protected connectionLost(reason: string, state: 'reconnecting' | 'error' = 'reconnecting'): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
    this.setState(state, reason);
    void this.disconnect();
  }

  private setState(state: SourceState, detail: string): void {
    this.state = state;
    this.emit('state', state, detail);
  }
}

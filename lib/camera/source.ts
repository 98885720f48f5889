import { EventEmitter } from 'node:events';
import { Backoff } from '../process/backoff';
import { CircuitBreaker, trackBreaker, type CircuitBreakerOptions } from '../process/circuit-breaker';

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
  /** The circuit breaker around (re)connecting; `false`: none (retry with the backoff for ever). */
  breaker?: CircuitBreakerOptions | false;
}

export const DEFAULT_STALE_AFTER_MS = 5_000;

/**
 * A camera that failed 8 times within 2 minutes (with the default backoff:
 * about 90 s of failing) is left alone for 2 minutes, then tried once.
 */
export const CAMERA_BREAKER: CircuitBreakerOptions = { failures: 8, windowMs: 120_000, coolOffMs: 120_000 };

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
  /** Opens after repeated failures: no attempt during its cool-off, the state `error` saying so (shown in metrics and health). */
  readonly breaker?: CircuitBreaker;
  private untrackBreaker?: () => void;

  constructor(
    readonly label: string,
    options: ReconnectOptions = {},
  ) {
    super();
    this.backoff = options.backoff ?? new Backoff();
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    if (options.breaker !== false) this.breaker = new CircuitBreaker(`camera ${label}`, { ...CAMERA_BREAKER, ...options.breaker });
  }

  /** Opens the connection or process; must report back through the protected methods. */
  protected abstract connect(): void;
  /** Closes whatever `connect` opened; resolves when it is closed. */
  protected abstract disconnect(): Promise<void>;

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.breaker) this.untrackBreaker = trackBreaker(this.breaker);
    this.setState('connecting', this.label);
    this.connectNow();
    const checkEvery = Math.max(50, Math.min(1000, this.staleAfterMs / 2));
    this.watchdog = setInterval(() => this.checkStale(), checkEvery);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.untrackBreaker?.();
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
    if (this.breaker && !this.breaker.tryAcquire()) {
      this.retryTimer = setTimeout(() => this.connectNow(), Math.max(50, this.breaker.retryInMs()));
      return;
    }
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
      this.breaker?.success();
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
    this.breaker?.failure(reason);
    const open = this.breaker?.state === 'open';
    // An open breaker: no attempt until its cool-off ends (then one trial), instead of the backoff.
    const delay = open ? this.breaker!.retryInMs() : this.backoff.next();
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
    this.setState(open ? 'error' : state, open ? `${reason} · circuit ${this.breaker!.describe()}` : reason);
    void this.disconnect();
  }

  private setState(state: SourceState, detail: string): void {
    this.state = state;
    this.emit('state', state, detail);
  }
}

import { EventEmitter } from 'node:events';
import { PorchlightError } from '../errors';

/**
 * A circuit breaker for a stage that keeps failing: the shared PostgreSQL
 * log, a camera, a model backend.
 *
 * - closed: calls go through; failures are remembered for `windowMs`.
 * - open: `failures` failures within the window open it: no call for
 *   `coolOffMs` (the caller falls back where it has a fallback).
 * - half-open: after the cool-off one trial call goes through (others are
 *   still refused); its success closes the breaker, its failure opens it
 *   again for another cool-off.
 *
 * Written here rather than taken from a library: opossum (the usual one) opens
 * on an error percentage over a rolling window kept by its own interval timer
 * and wraps one function per breaker; the stages here are retry loops with
 * their own timers (camera reconnects, replication) that need "N failures in
 * a window" and to ask "may I try now, and when next?". This class keeps no
 * timer at all: its state is computed from the clock when asked, so it
 * leaks no handle, needs no shutdown and follows a test's fake clock.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Failures within `windowMs` that open the breaker (default 5). */
  failures?: number;
  windowMs?: number;
  /** How long an open breaker refuses calls before one trial (default 60 s). */
  coolOffMs?: number;
  now?: () => number;
}

export interface CircuitStats {
  name: string;
  state: CircuitState;
  /** Failures within the window now. */
  recentFailures: number;
  /** Times it opened, and calls refused while open, since it was made. */
  opened: number;
  rejected: number;
  lastError?: string;
  /** When an open breaker lets its trial call through (ms since the epoch). */
  retryAt?: number;
}

export interface CircuitBreakerEvents {
  state: [state: CircuitState, stats: CircuitStats];
}

export class CircuitBreaker extends EventEmitter<CircuitBreakerEvents> {
  readonly failureThreshold: number;
  readonly windowMs: number;
  readonly coolOffMs: number;
  private readonly now: () => number;
  private failureTimes: number[] = [];
  private current: CircuitState = 'closed';
  private openedAt = 0;
  private trialInFlight = false;
  private opened = 0;
  private rejected = 0;
  private lastError?: string;

  constructor(
    readonly name: string,
    options: CircuitBreakerOptions = {},
  ) {
    super();
    this.failureThreshold = Math.max(1, Math.floor(options.failures ?? 5));
    this.windowMs = options.windowMs ?? 60_000;
    this.coolOffMs = options.coolOffMs ?? 60_000;
    this.now = options.now ?? (() => Date.now());
  }

  /** The state now (an open breaker whose cool-off ended reads half-open). */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() >= this.openedAt + this.coolOffMs) this.setState('half-open');
    return this.current;
  }

  /** Milliseconds until an open breaker allows its trial (0 when a call may go now). */
  retryInMs(): number {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.coolOffMs - this.now()) : 0;
  }

  /**
   * Whether a call may go now; a true answer in half-open is the one trial
   * (the caller must then report `success` or `failure`). A refusal is counted.
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return true;
    }
    this.rejected++;
    return false;
  }

  success(): void {
    this.trialInFlight = false;
    this.failureTimes = [];
    if (this.current !== 'closed') this.setState('closed');
  }

  failure(err?: unknown): void {
    this.trialInFlight = false;
    const at = this.now();
    this.lastError = err === undefined ? this.lastError : err instanceof Error ? err.message : String(err);
    this.failureTimes = this.failureTimes.filter((t) => at - t < this.windowMs);
    this.failureTimes.push(at);
    const state = this.state;
    if (state === 'half-open' || (state === 'closed' && this.failureTimes.length >= this.failureThreshold)) {
      this.openedAt = at;
      this.opened++;
      this.setState('open');
    }
  }

  /**
   * Runs `call` through the breaker: refused with `CIRCUIT_OPEN` while open
   * (or `fallback`'s answer, when given); `counts` decides which errors are
   * the stage's failures (a bad input is not: default every error counts).
   */
  async run<T>(call: () => Promise<T>, options: { fallback?: (err: Error) => T | Promise<T>; counts?: (err: unknown) => boolean } = {}): Promise<T> {
    if (!this.tryAcquire()) {
      const refused = new PorchlightError('CIRCUIT_OPEN', `${this.name}: circuit open after ${this.failureThreshold} failures within ${Math.round(this.windowMs / 1000)} s (last: ${this.lastError ?? 'unknown'}); next try in ${Math.ceil(this.retryInMs() / 1000)} s`);
      if (options.fallback) return options.fallback(refused);
      throw refused;
    }
    try {
      const result = await call();
      this.success();
      return result;
    } catch (err) {
      if (options.counts?.(err) ?? true) this.failure(err);
      else this.release();
      if (options.fallback) return options.fallback(err as Error);
      throw err;
    }
  }

  /** A call that neither failed nor succeeded as far as the stage is concerned (its trial slot is given back). */
  release(): void {
    this.trialInFlight = false;
  }

  stats(): CircuitStats {
    const state = this.state;
    const at = this.now();
    return {
      name: this.name,
      state,
      recentFailures: this.failureTimes.filter((t) => at - t < this.windowMs).length,
      opened: this.opened,
      rejected: this.rejected,
      lastError: this.lastError,
      retryAt: state === 'open' ? this.openedAt + this.coolOffMs : undefined,
    };
  }

  /** One sentence for a node status or a log line. */
  describe(): string {
    const s = this.stats();
    if (s.state === 'closed') return 'closed';
    if (s.state === 'half-open') return `half-open: trying once (after ${s.opened > 1 ? `${s.opened} openings` : 'opening'})`;
    return `open after ${this.failureThreshold} failures within ${Math.round(this.windowMs / 1000)} s: next try in ${Math.ceil(this.retryInMs() / 1000)} s (${s.lastError ?? 'no error text'})`;
  }

  /**
   * Household words for a status line while the breaker is not closed, e.g.
   * "shared log paused after 5 failures; next try in 30 s"; undefined when closed.
   */
  pausedInWords(subject: string = this.name): string | undefined {
    const state = this.state;
    if (state === 'closed') return undefined;
    const after = `${subject} paused after ${this.failureThreshold} failure${this.failureThreshold === 1 ? '' : 's'}`;
    return state === 'open' ? `${after}; next try in ${Math.ceil(this.retryInMs() / 1000)} s` : `${after}; trying again now`;
  }

  private setState(state: CircuitState): void {
    if (state === this.current) return;
    this.current = state;
    if (state !== 'half-open') this.trialInFlight = false;
    this.emit('state', state, this.stats());
  }
}

/** Breakers in use (cameras, replication...), for /porchlight/metrics and /porchlight/health. */
const tracked = new Map<string, CircuitBreaker>();

/** Lists `breaker` under its name (metrics, and `circuit:<name>` in /porchlight/health: down unless closed; lib/metrics reads the list) until the returned function is called. */
export function trackBreaker(breaker: CircuitBreaker): () => void {
  tracked.set(breaker.name, breaker);
  return () => {
    if (tracked.get(breaker.name) === breaker) tracked.delete(breaker.name);
  };
}

export function trackedBreakers(): CircuitBreaker[] {
  return [...tracked.values()];
}

import { EventEmitter } from 'node:events';
import { isPorchlightError, PorchlightError } from '../../errors';
import { Backoff } from '../../process/backoff';
import { CircuitBreaker, trackBreaker, type CircuitBreakerOptions, type CircuitStats } from '../../process/circuit-breaker';
import { yieldToLoop } from '../retention';
import { splitBatch, type EventOutbox, type OutboxBatch } from './outbox';

/** `online`: the shared log is reachable (the backlog drains); `offline`: the last write failed, retrying with backoff. */
export type ReplicationState = 'starting' | 'online' | 'offline' | 'stopped';

export interface ReplicationStats {
  state: ReplicationState;
  /** Events waiting in this door's outbox. */
  backlog: number;
  /** Events written to (or deleted from) the shared log since start. */
  replicated: number;
  /** Events that never reached the shared log because the backlog was over its bound. */
  overflowed: number;
  /** Events the shared log refused for a reason of their own (set aside so the rest go on). */
  rejected: number;
  lastError: string | null;
  lastReplicatedAt: number | null;
  /** The circuit breaker around the shared log (absent when off). */
  circuit?: CircuitStats;
  /** While the breaker is open, in words: "shared log paused after 5 failures; next try in 60 s". */
  paused: string | null;
}

export interface ReplicatorOptions {
  /** Events per transaction. Default 100. */
  batchSize?: number;
  /** How often an idle replicator looks at the outbox (the event log also nudges it). Default 1000 ms. */
  pollMs?: number;
  /** Retry delays while the shared log is unreachable. Default 1 s doubling to 30 s. */
  backoff?: Backoff;
  /** Whether a failed write may succeed later as it is; other failures set the event aside. Default: all but PostgreSQL's data errors. */
  isTransient?: (err: unknown) => boolean;
  /** The circuit breaker around writing to the shared log (default REPLICATION_BREAKER); `false`: none (retry with the backoff for ever). */
  breaker?: CircuitBreakerOptions | false;
  /** The breaker's name in /porchlight/metrics and /porchlight/health (`circuit:<name>`). Default `shared log`. */
  name?: string;
}

/**
 * The shared log's breaker: 5 failed writes within a minute (with the default
 * backoff, about 15 s of an outage: 1 + 2 + 4 + 8 s between them) open it;
 * then no connection attempt for a minute (the backoff alone would try every
 * 30 s, each try waiting out a connection timeout on a dead link), one trial
 * write, closed at its success. Nothing is lost meanwhile: the events wait
 * in the outbox on this door's disk.
 */
export const REPLICATION_BREAKER: CircuitBreakerOptions = { failures: 5, windowMs: 60_000, coolOffMs: 60_000 };

/**
 * PostgreSQL refused the rows themselves: a data exception (SQLSTATE class 22,
 * a value out of range) or an integrity violation (23). Anything else (the
 * network, a timeout, a schema not yet migrated, a full disk) may pass later
 * as it is, so it is retried: an event is only ever set aside for a reason of its own.
 */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** Where batches go: the shared PostgreSQL log (PgEventLog), or anything that writes them idempotently. */
export interface ReplicaTarget {
  write(batch: OutboxBatch): Promise<void>;
}

/**
 * Copies this door's finished events to the shared log. The local SQLite log
 * stays the write path (a verdict never waits on the network) and its outbox
 * is the buffer: while the shared log is unreachable, events wait on disk and
 * the replicator retries with backoff; when it is back, the backlog drains a
 * batch at a time, oldest first. Writes are idempotent upserts by event id,
 * and an outbox entry is removed only after its batch committed, so a failure
 * at any point repeats work but never loses or duplicates an event. Emits
 * `state` (ReplicationStats) whenever the state changes.
 */
export class EventReplicator extends EventEmitter {
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly backoff: Backoff;
  private state: ReplicationState = 'starting';
  private replicated = 0;
  private overflowed = 0;
  private rejected = 0;
  private readonly isTransient: (err: unknown) => boolean;
  private lastError: string | null = null;
  private lastReplicatedAt: number | null = null;
  private running: Promise<void> | undefined;
  private copying: Promise<void> = Promise.resolve();
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  /** The circuit breaker around the shared log's writes (undefined when off). */
  readonly breaker?: CircuitBreaker;
  private untrackBreaker?: () => void;

  constructor(
    private readonly outbox: EventOutbox,
    private readonly target: ReplicaTarget,
    options: ReplicatorOptions = {},
  ) {
    super();
    this.batchSize = options.batchSize ?? 100;
    this.pollMs = options.pollMs ?? 1_000;
    this.backoff = options.backoff ?? new Backoff(1_000, 30_000);
    this.isTransient = options.isTransient ?? ((err) => !isDataError(err));
    if (options.breaker !== false) this.breaker = new CircuitBreaker(options.name ?? 'shared log', { ...REPLICATION_BREAKER, ...options.breaker });
  }

  /** Turns the outbox on (queuing this door's history the first time) and starts copying. */
  start(): void {
    this.outbox.enable(Date.now());
    if (this.breaker && !this.untrackBreaker) this.untrackBreaker = trackBreaker(this.breaker);
    this.nudge();
  }

  /** Something was recorded: copy it now rather than at the next poll (ignored while waiting out a failure). */
  nudge(): void {
    if (this.state === 'stopped' || (this.state === 'offline' && this.timer)) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again && this.state === 'online') {
        this.again = false;
        this.nudge();
      }
    });
  }

  /** Copies until the outbox is empty; rejects with the error of a failed write (tests, benchmarks, a manual flush). */
  async flush(): Promise<void> {
    for (;;) {
      await this.copyBacklog();
      if (this.outbox.backlog() === 0) return;
    }
  }

  stats(): ReplicationStats {
    return {
      state: this.state,
      backlog: this.state === 'stopped' ? 0 : this.outbox.backlog(),
      replicated: this.replicated,
      overflowed: this.overflowed,
      rejected: this.rejected,
      lastError: this.lastError,
      lastReplicatedAt: this.lastReplicatedAt,
      circuit: this.breaker?.stats(),
      paused: this.state === 'stopped' ? null : this.breaker?.pausedInWords() ?? null,
    };
  }

  /** Stops polling and waits for the batch in flight (its entries stay queued if it did not commit). */
  async stop(): Promise<void> {
    this.setState('stopped');
    this.untrackBreaker?.();
    this.untrackBreaker = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<void> {
    try {
      await this.copyBacklog();
      if (this.state === 'stopped') return; // stopped meanwhile: stay stopped
      this.backoff.reset();
      this.lastError = null;
      this.setState('online');
      this.schedule(this.pollMs);
    } catch (err) {
      if (this.state === 'stopped') return;
      // A refusal of the open breaker keeps the last real error.
      if (!isPorchlightError(err, 'CIRCUIT_OPEN')) this.lastError = err instanceof Error ? err.message : String(err);
      this.overflowed += this.outbox.trim();
      this.setState('offline', true);
      // An open breaker: no attempt until its cool-off ends (then one trial), instead of the backoff.
      const open = this.breaker?.state === 'open';
      this.schedule(open ? Math.max(1, this.breaker!.retryInMs()) : this.backoff.next());
    }
  }

  /** Copies the backlog; one copy at a time (a pass and a flush never send the same batch side by side). */
  private copyBacklog(): Promise<void> {
    const copying = this.copying.then(() => this.drain());
    this.copying = copying.catch(() => undefined);
    return copying;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.state === 'stopped' || this.outbox.backlog() === 0) return;
      const batch = await this.outbox.take(this.batchSize);
      if (batch.entries.length === 0) return;
      await this.send(batch);
      this.outbox.acknowledge(batch.entries);
      this.lastReplicatedAt = Date.now();
      if (batch.entries.length < this.batchSize) return;
      await yieldToLoop(); // a long backlog never holds Node-RED's loop
    }
  }

  /**
   * Writes a batch through the breaker: refused with CIRCUIT_OPEN while it is
   * open (no connection attempted); a write the network or the server failed
   * counts against it, one that reached the server closes it.
   */
  private async send(batch: OutboxBatch): Promise<void> {
    const breaker = this.breaker;
    if (breaker && !breaker.tryAcquire()) {
      throw new PorchlightError('CIRCUIT_OPEN', `${breaker.pausedInWords()} (last: ${this.lastError ?? 'unknown'})`);
    }
    try {
      await this.write(batch);
    } catch (err) {
      breaker?.failure(err);
      throw err;
    }
    breaker?.success();
  }

  /**
   * Writes a batch. When the shared log refuses it for a reason of its own
   * (not the network), each event is tried alone and one it refuses alone is
   * set aside (counted in `rejected`, `rejected` emitted with its id and the
   * reason), so one bad row never holds back every later event.
   */
  private async write(batch: OutboxBatch): Promise<void> {
    try {
      await this.target.write(batch);
      this.replicated += batch.entries.length;
      return;
    } catch (err) {
      if (this.isTransient(err)) throw err;
      if (batch.entries.length === 1) {
        this.rejected++;
        this.emit('rejected', batch.entries[0].eventId, err);
        return;
      }
    }
    for (const single of splitBatch(batch)) await this.write(single);
  }

  private schedule(ms: number): void {
    if (this.state === 'stopped') return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nudge();
    }, ms);
    this.timer.unref?.();
  }

  private setState(state: ReplicationState, always = false): void {
    if (state === this.state && !always) return;
    this.state = state;
    this.emit('state', this.stats());
  }
}

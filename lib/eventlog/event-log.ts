import { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import { PorchlightError } from '../errors';
import { Backoff } from '../process/backoff';
import { noteCommitted, noteRefused } from './commits';
import { ensureEvent, stageName, type DoorbellEvent } from '../events/event';
import { DEFAULT_MAX_PIXELS } from '../image/decode';
import { iou } from '../image/box';
import type { Box } from '../image/types';
import { doorOf, EventRepository, type FaceRecord } from './repository';
import { DEFAULT_RETENTION, RETENTION_BATCH, failUnfinishedEvents, removeSnapshots, sweepRetention, yieldToLoop, type RetentionPolicy, type SweepReport } from './retention';
import { isFileSafeEventId, renderEventImages, SnapshotFolder, type AnnotatedFace, type EventImages } from './snapshot';
import { VERDICT_STATUSES, type EventDetail, type MessageFace, type Verdict, type VerdictPerson } from './types';

/** What a message means to the event log. */
/** How often events are checked for a verdict that will never come (between the retention sweeps). */
export const STALLED_CHECK_MS = 30_000;

export type MessageKind = 'press' | 'frame' | 'verdict' | 'failure';

export interface EventLogOptions {
  db: Database.Database;
  /** Folder for this log's snapshots and thumbnails. */
  snapshotDir: string;
  retention?: RetentionPolicy;
  maxPixels?: number;
  /** Events whose best frame is kept in memory until their verdict; the oldest is forgotten beyond this. */
  maxPendingEvents?: number;
  /** The door recorded for events whose `msg.event.source` names none (an instance that serves one door). */
  door?: string;
  now?: () => number;
}

export interface RecordOutcome {
  kind: MessageKind;
  event: DoorbellEvent;
  /** For a verdict: whether an annotated snapshot was written, or why not. */
  snapshot?: { written: true; bytes: number } | { written: false; reason: string };
}

interface CandidateFrame {
  frame: Buffer;
  faces: MessageFace[];
  seq: number | null;
  rank: number;
}

type Message = Record<string, unknown>;

const isImageBuffer = (value: unknown): value is Buffer => Buffer.isBuffer(value) && value.length > 0;

/** Events begun but not ended that the log remembers, to fail them when it closes (older ones are left to the sweep). */
const MAX_OPEN_EVENTS = 1_000;

/** Events a refusing database leaves waiting in memory at most; beyond this the oldest is given up (with a `refused-dropped` event). */
const MAX_REFUSED = 10_000;

/**
 * The database would not take the write, for a reason that may pass: locked
 * past the busy timeout (SQLITE_BUSY, SQLITE_LOCKED), the disk full
 * (SQLITE_FULL), a write error (SQLITE_IOERR) or a file or file system made
 * read-only (SQLITE_READONLY). The event is kept and written once it can be.
 */
export const isStorageRefusal = (err: unknown): boolean =>
  /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY)|^READ_ONLY$/.test(String((err as { code?: unknown } | null)?.code ?? ''));

/** The last write the database refused, while no write has succeeded since. */
export interface WriteFailure {
  code: string;
  message: string;
  at: number;
}

/**
 * Sorts a message into the lifecycle: a Catch node's `msg.error` fails the
 * event, `msg.verdict` completes it, a frame (`msg.frame`, `msg.faces` or an
 * image payload) marks it processing, anything else is the press.
 */
export function classifyMessage(msg: Message): MessageKind {
  if (msg.error) return 'failure';
  if (msg.verdict) return 'verdict';
  if (msg.frame || Array.isArray(msg.faces) || isImageBuffer(msg.payload)) return 'frame';
  return 'press';
}

function qualityOf(face: MessageFace): number | null {
  const q = typeof face.quality === 'object' && face.quality !== null ? face.quality.score : face.quality;
  return typeof q === 'number' && Number.isFinite(q) ? q : null;
}

/** How good a frame is for the snapshot: its best face (quality, else detector score); a frame with no face ranks last. */
function frameRank(faces: MessageFace[]): number {
  return faces.reduce((best, face) => Math.max(best, qualityOf(face) ?? face.score ?? 0), -1);
}

function validFaces(value: unknown): MessageFace[] {
  if (!Array.isArray(value)) return [];
  return value.filter((f): f is MessageFace => {
    const box = (f as MessageFace | null)?.box;
    return !!box && [box.x, box.y, box.width, box.height].every((n) => typeof n === 'number' && Number.isFinite(n));
  });
}

function parseVerdict(value: unknown): Verdict {
  const verdict = value as Verdict;
  if (!verdict || typeof verdict !== 'object' || !VERDICT_STATUSES.includes(verdict.status)) {
    throw new PorchlightError('BAD_INPUT', `msg.verdict.status must be one of ${VERDICT_STATUSES.join(', ')}`);
  }
  return verdict;
}

/** The verdict's people as `{personId, name, list, distance}`; when it names none, the matched faces'. */
export function peopleOf(verdict: Verdict, faces: MessageFace[]): VerdictPerson[] {
  const byName = new Map<string, VerdictPerson>();
  const add = (p: VerdictPerson) => {
    const seen = byName.get(p.name);
    if (!seen || (p.distance ?? Infinity) < (seen.distance ?? Infinity)) byName.set(p.name, p);
  };
  for (const p of verdict.people ?? []) {
    if (typeof p === 'string' && p) add({ name: p });
    else if (p && typeof p === 'object' && typeof p.name === 'string' && p.name) {
      add({ personId: p.personId ?? null, name: p.name, list: p.list ?? null, distance: p.distance ?? null });
    }
  }
  if (byName.size === 0) {
    for (const f of faces) {
      const m = f.match;
      if (m && typeof m.name === 'string' && m.name) add({ personId: m.personId ?? null, name: m.name, list: m.list ?? null, distance: m.distance ?? null });
    }
  }
  return [...byName.values()];
}

const isKnownList = (list: unknown) => list === 'known';

/** The index of the face in `among` that is the same face as `face` (boxes overlapping by IoU 0.5 or more), or -1. */
function sameFace(face: { box: Box }, among: ReadonlyArray<{ box: Box }>): number {
  let best = -1;
  let bestOverlap = 0.5;
  among.forEach((other, i) => {
    const o = iou(face.box, other.box);
    if (o >= bestOverlap) [best, bestOverlap] = [i, o];
  });
  return best;
}

/** What to draw for a face of the snapshot frame: the verdict's match for the same face, else the frame's own. */
function annotation(face: MessageFace, verdictFaces: MessageFace[]): AnnotatedFace {
  const same = verdictFaces[sameFace(face, verdictFaces)];
  const match = same?.match ?? face.match;
  // face-recognize marks an unmatched face `status: 'unknown'` with `match: null`.
  if (!match) return (same ?? face).status === 'unknown' ? { box: face.box, label: 'unknown', list: 'unknown' } : { box: face.box };
  return { box: face.box, label: match.name || 'unknown', list: match.name ? (match.list ?? 'known') : 'unknown' };
}

function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  const e = error as { message?: unknown; source?: { type?: unknown; name?: unknown; id?: unknown } } | null;
  const message = typeof e?.message === 'string' ? e.message : JSON.stringify(error);
  const source = e?.source;
  const stage = typeof source?.type === 'string' ? stageName(source.type) : source?.type;
  const from = source ? ` (from ${String(source.name || stage || source.id)})` : '';
  return `${message}${from}`;
}

/**
 * The event log: the lifecycle of doorbell events in SQLite, annotated
 * snapshots on disk, queries and retention. Emits `recorded` with a
 * RecordOutcome after each message is stored.
 */
export class EventLog extends EventEmitter {
  readonly repository: EventRepository;
  readonly snapshots: SnapshotFolder;
  retention: RetentionPolicy;
  private readonly maxPixels: number;
  private readonly maxPending: number;
  private readonly door: string | undefined;
  private readonly now: () => number;
  /** The best frame seen so far of each event still waiting for its verdict (insertion-ordered). */
  private readonly candidates = new Map<string, CandidateFrame>();
  private sweeping: Promise<SweepReport> | undefined;
  private sweepAgain: Promise<SweepReport> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Events with a press or frames stored and no verdict or failure yet (insertion-ordered). */
  private readonly open = new Map<string, DoorbellEvent>();
  /** Events the database refused (locked, full, read-only), with why: recorded `failed` once it takes writes again. */
  private readonly refused = new Map<string, { event: DoorbellEvent; reason: string }>();
  private readonly refusedBackoff = new Backoff(1_000, 5_000);
  private refusedTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private writeFailure: WriteFailure | undefined;

  constructor(options: EventLogOptions) {
    super();
    this.repository = new EventRepository(options.db);
    this.snapshots = new SnapshotFolder(options.snapshotDir);
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
    this.maxPending = options.maxPendingEvents ?? 32;
    this.now = options.now ?? (() => Date.now());
    this.door = options.door?.trim() || undefined;
  }

  /** Stores what a message says about its event; a message without `msg.event` starts a new one. */
  record(msg: Message, metadata: Record<string, unknown> = {}): Promise<RecordOutcome> {
    const recording = this.store(msg, metadata).then(
      (outcome) => {
        this.writeFailure = undefined;
        noteCommitted(outcome.event.id);
        return outcome;
      },
      (err: unknown) => {
        const id = (msg.event as { id?: unknown } | undefined)?.id;
        if (isStorageRefusal(err)) {
          this.writeFailed(err);
          const reason = this.refuse(msg, err as Error);
          noteRefused((msg.event as DoorbellEvent).id, reason, true);
        } else if (typeof id === 'string') {
          noteRefused(id, err instanceof Error ? err.message : String(err), false);
        }
        throw err;
      },
    );
    this.inFlight.add(recording);
    recording.then(
      () => this.inFlight.delete(recording),
      () => this.inFlight.delete(recording),
    );
    return recording;
  }

  private async store(msg: Message, metadata: Record<string, unknown>): Promise<RecordOutcome> {
    const kind = classifyMessage(msg);
    const event = this.withDoor(ensureEvent(msg.event, kind === 'failure' ? 'error' : 'message', { via: 'event-log' }));
    const now = this.now();
    const meta = { ...metadata, source: event.source, ...(typeof msg.topic === 'string' && msg.topic ? { topic: msg.topic } : {}) };
    let outcome: RecordOutcome;
    switch (kind) {
      case 'press':
        this.repository.recordPress(event, now, meta);
        outcome = { kind, event };
        break;
      case 'frame':
        this.repository.recordFrame(event, now, meta);
        this.consider(event.id, msg);
        outcome = { kind, event };
        break;
      case 'failure':
        this.repository.recordFailure(event, errorText(msg.error), now, meta);
        outcome = { kind, event };
        break;
      case 'verdict':
        outcome = { kind, event, snapshot: await this.complete(event, parseVerdict(msg.verdict), msg, now, meta) };
        break;
    }
    this.trackOpen(kind, event);
    this.emit('recorded', outcome, msg);
    return outcome;
  }

  private withDoor(event: DoorbellEvent): DoorbellEvent {
    return this.door && doorOf(event) === null ? { ...event, source: { ...event.source, door: this.door } } : event;
  }

  private trackOpen(kind: MessageKind, event: DoorbellEvent): void {
    if (kind === 'verdict' || kind === 'failure') {
      this.open.delete(event.id);
      return;
    }
    if (this.open.has(event.id)) return;
    this.open.set(event.id, event);
    if (this.open.size > MAX_OPEN_EVENTS) this.open.delete(this.open.keys().next().value as string);
  }

  /** The last write the database refused while none has succeeded since (health reads it), and how many events wait for a retry. */
  writeHealth(): { failure?: WriteFailure; waiting: number } {
    return { failure: this.writeFailure, waiting: this.refused.size };
  }

  private writeFailed(err: unknown): void {
    const { code, message } = err as { code?: unknown; message?: unknown };
    this.writeFailure = { code: String(code), message: String(message), at: this.now() };
  }

  /**
   * The database refused the write (locked past its busy timeout, disk full,
   * read-only): the event is remembered and recorded `failed` with the reason
   * as soon as the database takes writes again, so a bad moment costs the
   * verdict's details, not the event. Returns the reason.
   */
  private refuse(msg: Message, err: Error): string {
    const event = ensureEvent(msg.event, 'message', { via: 'event-log' });
    msg.event = event; // a retry or a later message of this event keeps its id
    const kind = classifyMessage(msg);
    const what = kind === 'verdict' ? `the verdict (${String((msg.verdict as { status?: unknown }).status)})` : `the ${kind}`;
    const reason = `${what} could not be stored: ${err.message}`;
    this.refused.delete(event.id);
    this.refused.set(event.id, { event, reason });
    while (this.refused.size > MAX_REFUSED) {
      const [oldest, { event: dropped }] = this.refused.entries().next().value as [string, { event: DoorbellEvent }];
      this.refused.delete(oldest);
      this.emit('refused-dropped', dropped);
    }
    this.scheduleRefusedRetry();
    return reason;
  }

  private scheduleRefusedRetry(): void {
    if (this.refusedTimer || this.refused.size === 0 || this.stopped) return;
    this.refusedTimer = setTimeout(() => {
      this.refusedTimer = undefined;
      if (this.recordRefused() > 0) this.scheduleRefusedRetry();
    }, this.refusedBackoff.next());
    this.refusedTimer.unref?.();
  }

  /**
   * Records the refused events as failed without waiting on a lock (busy
   * timeout 0 for these writes: a retry never holds the event loop); returns
   * how many are still waiting. A write the database still refuses keeps
   * them all; any other error gives up that one event (`refused-dropped`).
   */
  private recordRefused(): number {
    const db = this.repository.db;
    if (this.refused.size === 0 || !db.open) return 0;
    const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
    db.pragma('busy_timeout = 0');
    try {
      for (const [id, { event, reason }] of this.refused) {
        try {
          this.repository.recordFailure(event, reason, this.now(), { via: 'event-log', retried: true });
        } catch (err) {
          if (isStorageRefusal(err)) throw err;
          this.refused.delete(id);
          this.emit('refused-dropped', event, err);
          continue;
        }
        this.refused.delete(id);
        this.open.delete(id);
        this.writeFailure = undefined;
        noteCommitted(id);
        this.emit('refused-recorded', event, reason);
      }
      this.refusedBackoff.reset();
    } catch (err) {
      this.writeFailed(err);
    } finally {
      db.pragma(`busy_timeout = ${busyTimeout}`);
    }
    return this.refused.size;
  }

  /** Events that began here and have neither verdict nor failure (e.g. the flow is being redeployed): failed with `reason`. */
  failOpen(reason: string): number {
    const events = [...this.open.values()];
    this.open.clear();
    const now = this.now();
    for (const event of events) this.repository.recordFailure(event, reason, now, { via: 'event-log' });
    return events.length;
  }

  private consider(id: string, msg: Message): void {
    if (!isImageBuffer(msg.payload)) return;
    const faces = validFaces(msg.faces);
    const rank = frameRank(faces);
    const current = this.candidates.get(id);
    if (current && current.rank >= rank) return;
    this.candidates.delete(id);
    this.candidates.set(id, { frame: msg.payload, faces, seq: (msg.frame as { seq?: number } | undefined)?.seq ?? null, rank });
    while (this.candidates.size > this.maxPending) this.candidates.delete(this.candidates.keys().next().value as string);
  }

  /**
   * Draws the snapshot (from the verdict's own frame or the best frame seen)
   * and writes its files, then commits the verdict, people, faces (with crops
   * cut from that frame where the detector sent none) and the snapshot in one
   * transaction: a reader never sees a completed event whose pictures are
   * still coming. The event row exists before the drawing starts, so a crash
   * meanwhile leaves it unfinished (failed by the next sweep), never lost. A
   * frame that cannot be drawn or a full disk costs the snapshot, not the event.
   */
  private async complete(event: DoorbellEvent, verdict: Verdict, msg: Message, now: number, meta: Record<string, unknown>): Promise<RecordOutcome['snapshot']> {
    const ownFaces = validFaces(msg.faces);
    const candidate = this.candidates.get(event.id);
    this.candidates.delete(event.id);
    const source: CandidateFrame | undefined = isImageBuffer(msg.payload)
      ? { frame: msg.payload, faces: ownFaces, seq: (msg.frame as { seq?: number } | undefined)?.seq ?? null, rank: 0 }
      : candidate;
    const faces = ownFaces.length > 0 ? ownFaces : (source?.faces ?? []);
    const facesSeq = ownFaces.length > 0 ? ((msg.frame as { seq?: number } | undefined)?.seq ?? null) : (source?.seq ?? null);
    const people = peopleOf(verdict, faces);
    const privacy = this.retention.privacy;
    const showsKnown = verdict.status === 'known' || people.some((p) => isKnownList(p.list)) || faces.some((f) => isKnownList(f.match?.list));

    let images: EventImages | undefined;
    let snapshot: RecordOutcome['snapshot'];
    if (!source) snapshot = { written: false, reason: 'no frame of this event reached the event log' };
    else if (privacy && showsKnown) snapshot = { written: false, reason: 'privacy: no snapshots of known people' };
    else if (!isFileSafeEventId(event.id)) snapshot = { written: false, reason: 'the event id cannot name a file' };
    else {
      this.repository.recordPress(event, now, meta);
      try {
        images = await renderEventImages(source.frame, source.faces.map((f) => annotation(f, faces)), this.maxPixels);
        snapshot = { written: true, bytes: await this.snapshots.save(event.id, images) };
      } catch (err) {
        images = undefined;
        snapshot = { written: false, reason: `snapshot failed: ${err instanceof Error ? err.message : String(err)}` };
      }
    }

    const records: FaceRecord[] = faces.map((f) => {
      const hidden = privacy && isKnownList(f.match?.list);
      const cut = images && source ? images.crops[sameFace(f, source.faces)] : undefined;
      return {
        frameSeq: facesSeq,
        box: f.box,
        score: f.score,
        quality: qualityOf(f),
        personId: f.match?.personId,
        name: f.match?.name,
        list: f.match?.list,
        distance: f.match?.distance,
        confidence: f.match?.confidence,
        crop: hidden ? null : f.crop instanceof Uint8Array ? f.crop : (cut ?? null),
      };
    });
    this.repository.recordVerdict(event, verdict, people, records, now, meta, snapshot.written ? snapshot.bytes : null);
    return snapshot;
  }

  get(id: string): EventDetail | undefined {
    return this.repository.get(id);
  }

  /** Deletes an event, its faces and its snapshot files. */
  async delete(id: string): Promise<boolean> {
    const deleted = this.repository.delete([id]) > 0;
    if (deleted) await this.snapshots.remove(id);
    return deleted;
  }

  /**
   * A person was forgotten in the face DB: their face crops and the snapshots
   * of events naming them go too, and their name: the event rows stay (the
   * visit, its verdict) under "(forgotten #id)" until retention or a DELETE
   * removes them, so neither the API nor the CSV export names them again.
   */
  async forgetPerson(personId: string | number): Promise<{ cropsDropped: number; snapshotsRemoved: number; namesRedacted: number }> {
    const id = String(personId);
    const cropsDropped = this.repository.dropCropsOfPerson(id);
    let snapshotsRemoved = 0;
    for (;;) {
      const ids = this.repository.snapshotsOfPerson(id, RETENTION_BATCH);
      if (ids.length === 0) break;
      await removeSnapshots(this.repository, this.snapshots, ids);
      snapshotsRemoved += ids.length;
      await yieldToLoop();
    }
    let namesRedacted = 0;
    for (let n = this.repository.redactPersonName(id, RETENTION_BATCH); n > 0; n = this.repository.redactPersonName(id, RETENTION_BATCH)) {
      namesRedacted += n;
      await yieldToLoop();
    }
    return { cropsDropped, snapshotsRemoved, namesRedacted };
  }

  /**
   * Runs retention now. Sweeps never overlap: asked during one, another runs
   * once it ends (at that moment's clock), and every caller waiting then shares it.
   */
  sweep(): Promise<SweepReport> {
    if (this.sweeping) {
      this.sweepAgain ??= this.sweeping.then(() => {
        this.sweepAgain = undefined;
        return this.sweep();
      });
      return this.sweepAgain;
    }
    if (this.stopped) return Promise.resolve({ eventsDeleted: 0, snapshotsRemoved: 0, cropsDropped: 0, unfinishedFailed: 0 });
    const running = sweepRetention(this.repository, this.snapshots, this.retention, this.now(), { stopped: () => this.stopped }).finally(() => {
      this.sweeping = undefined;
    });
    this.sweeping = running;
    return running;
  }

  /**
   * Sweeps now and every `intervalMs`, emitting `swept` (SweepReport) or
   * `sweep-failed` (Error); in between, every `STALLED_CHECK_MS`, fails the
   * events whose verdict will not come, so none stays "processing" for an
   * hour. Returns the stop function.
   */
  startRetention(intervalMs: number): () => void {
    const run = () => {
      this.sweep().then(
        (report) => this.emit('swept', report),
        (err) => this.emit('sweep-failed', err),
      );
    };
    const failStalled = () => {
      if (this.stopped || this.sweeping) return;
      try {
        const unfinishedFailed = failUnfinishedEvents(this.repository, this.retention, this.now());
        if (unfinishedFailed > 0) this.emit('swept', { eventsDeleted: 0, snapshotsRemoved: 0, cropsDropped: 0, unfinishedFailed });
      } catch (err) {
        this.emit('sweep-failed', err);
      }
    };
    run();
    const timers = [setInterval(run, intervalMs), setInterval(failStalled, Math.min(intervalMs, STALLED_CHECK_MS))];
    for (const timer of timers) timer.unref?.();
    return () => timers.forEach(clearInterval);
  }

  /**
   * Stops retention (a running sweep ends after its current batch) and waits
   * until nothing is being written; then records what a busy database refused
   * (if it takes writes now) and, given `failOpen`, fails the unfinished
   * events with that reason. Returns what is left unrecorded.
   */
  async stop(options: { failOpen?: string } = {}): Promise<{ failed: number; unrecorded: number }> {
    this.stopped = true;
    clearTimeout(this.refusedTimer);
    await this.whenIdle();
    const unrecorded = this.recordRefused();
    const failed = options.failOpen ? this.failOpen(options.failOpen) : 0;
    return { failed, unrecorded };
  }

  /** Resolves when no message is being recorded and no sweep runs (before the database closes). */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0 || this.sweeping) {
      await Promise.allSettled([...this.inFlight, this.sweeping, this.sweepAgain]);
    }
  }
}

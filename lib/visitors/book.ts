import type Database from 'better-sqlite3';
import { PorchlightError } from '../errors';
import { onEventsDeleted } from '../eventlog/deletions';
import type { EnrollResult, Store, PersonList } from '../store/types';
import { VisitorClusters } from './clusters';
import { VisitorRepository } from './repository';
import { variedBestFaces } from './sampling';
import type { FoundEvent, Probe, RecordedFace, UnknownFace, VerdictVisitor, VisitorFace, VisitorSummary } from './types';

export interface VisitorBookOptions {
  /** Distinct events a cluster needs before it becomes a numbered visitor. */
  minEvents?: number;
  /** Rows read per page while loading (the loop gets a turn between pages). */
  pageSize?: number;
  /** A face whose event never reached the event log is dropped after this long. */
  orphanAfterMs?: number;
  now?: () => number;
}

export const DEFAULT_MIN_EVENTS = 2;
/** The most faces "name this visitor" enrolls. */
export const MAX_NAMED_FACES = 5;
/** Clustering distance as a share of the recognizer's match tolerance (0.48 for face-api's 0.6; measured on LFW, docs/ACCURACY.md). */
export const CLUSTER_TOLERANCE_SHARE = 0.8;

const PAGE_SIZE = 500;
const ORPHAN_AFTER_MS = 60 * 60 * 1000;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const visitorLabel = (number: number | null): string | null => (number === null ? null : `visitor #${number}`);

/**
 * Recurring unknown visitors of one door, in its SQLite file `db` whichever
 * backend holds the faces (`name` enrolls into the store it is given). Every
 * unknown face of an event is kept with its embedding and joins a cluster
 * online (no re-clustering of the history); a cluster seen at `minEvents`
 * distinct events becomes
 * "visitor #n". Loaded from the DB in pages at start, then kept in step:
 * deleted events (retention, by hand) take their faces with them, and
 * forgetting a person who was named from a cluster forgets its faces too.
 */
export class VisitorBook {
  readonly repository: VisitorRepository;
  readonly ready: Promise<void>;
  private readonly clusters = new VisitorClusters();
  private readonly minEvents: number;
  private readonly orphanAfterMs: number;
  private readonly now: () => number;
  private lastOrphanSweep = 0;
  private readonly unsubscribe: () => void;

  constructor(readonly db: Database.Database, options: VisitorBookOptions = {}) {
    this.repository = new VisitorRepository(db);
    this.minEvents = Math.max(1, options.minEvents ?? DEFAULT_MIN_EVENTS);
    this.orphanAfterMs = options.orphanAfterMs ?? ORPHAN_AFTER_MS;
    this.now = options.now ?? (() => Date.now());
    this.unsubscribe = onEventsDeleted(db, (ids) => this.forgetFaces(this.clusters.facesOfEvents(ids)));
    this.ready = this.load(options.pageSize ?? PAGE_SIZE);
    this.ready.catch(() => undefined);
  }

  private async load(pageSize: number): Promise<void> {
    for (let after = 0; ; ) {
      const page = this.repository.clusterPage(after, pageSize);
      if (page.length === 0) break;
      for (const cluster of page) this.clusters.addCluster(cluster);
      after = page[page.length - 1].id;
      await yieldToLoop();
    }
    for (let after = 0; ; ) {
      const page = this.repository.facePage(after, pageSize);
      if (page.length === 0) break;
      for (const f of page) this.clusters.addFace(f.id, f.visitorId, f.eventId, f.seenAt, f.model, f.embedding);
      after = page[page.length - 1].id;
      await yieldToLoop();
    }
    this.sweepOrphans();
  }

  /** Faces held in memory (all models). */
  get size(): number {
    return this.clusters.size;
  }

  /**
   * Files the unknown faces of one event, each into the nearest cluster within
   * `maxDistance` (average linkage) or a new one, and numbers a cluster that
   * now reaches `minEvents` events. Synchronous once loaded: one short
   * transaction and one matrix scan per face.
   */
  async record(eventId: string, faces: readonly UnknownFace[], options: { maxDistance: number; seenAt?: number }): Promise<RecordedFace[]> {
    await this.ready;
    const now = this.now();
    const seenAt = options.seenAt ?? now;
    const recorded = this.db.transaction(() =>
      faces.map((face) => {
        const near = this.clusters.nearestCluster(face.model, face.embedding, eventId);
        const joins = near && near.distance <= options.maxDistance ? near : undefined;
        const clusterId = joins?.clusterId ?? this.newCluster(face.model, now);
        const faceId = this.repository.addFace(clusterId, eventId, face, seenAt);
        return { faceId, clusterId, distance: joins?.distance ?? null, face };
      }),
    )();
    // Memory follows only once the transaction committed.
    const results: RecordedFace[] = [];
    for (const r of recorded) {
      this.clusters.addFace(r.faceId, r.clusterId, eventId, seenAt, r.face.model, r.face.embedding);
      const cluster = this.clusters.cluster(r.clusterId)!;
      if (cluster.number === null && cluster.seen >= this.minEvents) {
        this.clusters.update(cluster.id, { number: this.repository.giveNumber(cluster.id, now) });
      }
      results.push({ faceId: r.faceId, visitorId: r.clusterId, distance: r.distance, visitor: this.summary(r.clusterId)! });
    }
    if (now - this.lastOrphanSweep > this.orphanAfterMs / 4) this.sweepOrphans();
    return results;
  }

  private newCluster(model: string, now: number): number {
    const cluster = this.repository.createCluster(model, now);
    this.clusters.addCluster(cluster);
    return cluster.id;
  }

  /** `msg.verdict.visitor` for a recorded face: only an open, numbered visitor is news. */
  static verdictVisitor(visitor: VisitorSummary | undefined): VerdictVisitor | undefined {
    if (!visitor || visitor.number === null || visitor.state !== 'open') return undefined;
    const { id, number, seen, firstSeen, lastSeen } = visitor;
    return { id, number, label: visitorLabel(number)!, seen, firstSeen, lastSeen };
  }

  summary(id: number): VisitorSummary | undefined {
    const c = this.clusters.cluster(id);
    if (!c) return undefined;
    return { ...c, label: visitorLabel(c.number) };
  }

  private mustGet(id: number): VisitorSummary {
    const visitor = Number.isInteger(id) ? this.summary(id) : undefined;
    if (!visitor) throw new PorchlightError('NOT_FOUND', `no visitor ${id}`);
    return visitor;
  }

  /** Numbered visitors (open ones unless `all`), last seen first. */
  async list(options: { all?: boolean } = {}): Promise<VisitorSummary[]> {
    await this.ready;
    return this.clusters
      .clusterIds()
      .map((id) => this.summary(id)!)
      .filter((v) => v.number !== null && (options.all || v.state === 'open'))
      .sort((a, b) => b.lastSeen - a.lastSeen);
  }

  async get(id: number, options: { faces?: number } = {}): Promise<VisitorSummary & { bestFaces: VisitorFace[] }> {
    await this.ready;
    const visitor = this.mustGet(id);
    return { ...visitor, bestFaces: this.repository.faces(id, options.faces ?? 6) };
  }

  crop(visitorId: number, faceId: number): Buffer | undefined {
    return this.repository.crop(visitorId, faceId);
  }

  /**
   * Enrolls the visitor under `name` (a new person, or more faces for an
   * existing one on the same list) with a capped, varied subset of its best
   * faces, then marks the cluster named: later faces match the person.
   */
  async name(id: number, name: string, store: Store, options: { list?: PersonList; maxFaces?: number } = {}): Promise<{ visitor: VisitorSummary; enrolled: EnrollResult }> {
    await this.ready;
    this.mustGet(id);
    const faces = this.repository.facesWithEmbeddings(id);
    const picked = variedBestFaces(faces, options.maxFaces ?? MAX_NAMED_FACES).map((i) => faces[i]);
    const enrolled = await store.enroll(
      name,
      picked.map((f) => ({
        model: f.model,
        embedding: f.embedding,
        quality: f.quality,
        crop: f.crop,
        source: `visitor:${id}`,
        metadata: { event: f.eventId, visitorFace: f.id },
        createdAt: f.seenAt,
      })),
      { list: options.list },
    );
    // The cluster may have lost its faces (retention) while the enrollment ran.
    if (this.summary(id)) this.setState(id, 'named', enrolled.person.id);
    return { visitor: this.summary(id) ?? this.mustGet(id), enrolled };
  }

  async dismiss(id: number): Promise<VisitorSummary> {
    await this.ready;
    this.mustGet(id);
    this.setState(id, 'dismissed', null);
    return this.summary(id)!;
  }

  private setState(id: number, state: VisitorSummary['state'], personId: number | null): void {
    this.repository.setState(id, state, personId, this.now());
    this.clusters.update(id, { state, personId });
  }

  /** Moves `fromId`'s faces into `intoId` (same model); the result keeps the older (smaller) visitor number. */
  async merge(fromId: number, intoId: number): Promise<VisitorSummary> {
    await this.ready;
    const from = this.mustGet(fromId);
    const into = this.mustGet(intoId);
    if (fromId === intoId) throw new PorchlightError('BAD_INPUT', 'cannot merge a visitor into itself');
    if (from.model !== into.model) throw new PorchlightError('BAD_INPUT', `visitors ${fromId} and ${intoId} come from different models (${from.model}, ${into.model})`);
    const numbers = [from.number, into.number].filter((n): n is number => n !== null);
    const number = numbers.length ? Math.min(...numbers) : null;
    this.repository.merge(fromId, intoId, number, this.now());
    this.clusters.merge(fromId, intoId);
    this.clusters.update(intoId, { number });
    if (number === null && this.clusters.cluster(intoId)!.seen >= this.minEvents) {
      this.clusters.update(intoId, { number: this.repository.giveNumber(intoId, this.now()) });
    }
    return this.summary(intoId)!;
  }

  /** "Find this face": past events whose unknown faces are nearest to the probes, within `maxDistance`, nearest first. */
  async find(probes: readonly Probe[], options: { limit?: number; maxDistance?: number; excludeEvent?: string } = {}): Promise<FoundEvent[]> {
    await this.ready;
    const limit = Math.min(200, Math.max(1, Math.floor(options.limit ?? 20)));
    const found = this.clusters.nearestEvents(probes, limit + 1, options.maxDistance ?? Infinity);
    return found
      .filter((f) => f.eventId !== options.excludeEvent)
      .slice(0, limit)
      .map((f) => {
        const face = this.clusters.faceInfo(f.faceId)!;
        const visitor = this.summary(face.clusterId);
        return { ...f, visitorId: face.clusterId, visitorLabel: visitor?.label ?? null, seenAt: face.seenAt };
      });
  }

  /** The stored unknown faces of an event, as probes for `find`. */
  eventProbes(eventId: string): Probe[] {
    return this.repository.facesOfEvent(eventId).map((f) => ({ model: f.model, embedding: f.embedding }));
  }

  /** A person was forgotten: the faces of clusters named as them go too (they were that person's). */
  async personRemoved(personId: number): Promise<void> {
    await this.ready;
    const named = this.clusters.clusterIds().filter((id) => this.clusters.cluster(id)!.personId === personId);
    for (const clusterId of named) this.forgetFaces(this.clusters.facesOfCluster(clusterId));
  }

  /**
   * `personRemoved` for every person a visitor was named as who is no longer
   * in `store`: forgotten while this book was not listening (before it was
   * opened, or at another door while the shared database was out of reach).
   * One look-up per named person, who are few.
   */
  async dropForgottenPeople(store: Store): Promise<void> {
    await this.ready;
    const named = new Set(this.clusters.clusterIds().map((id) => this.clusters.cluster(id)!.personId));
    for (const personId of named) {
      if (personId !== null && !(await store.getPerson(personId))) await this.personRemoved(personId);
    }
  }

  private forgetFaces(faceIds: number[]): void {
    if (faceIds.length === 0) return;
    // Event deletions have already removed the rows (trigger); deleting again is harmless.
    this.repository.deleteFaces(faceIds);
    this.clusters.removeFaces(faceIds);
  }

  private sweepOrphans(): void {
    this.lastOrphanSweep = this.now();
    this.forgetFaces(this.repository.orphanFaces(this.now() - this.orphanAfterMs, 10_000));
  }

  close(): void {
    this.unsubscribe();
  }
}

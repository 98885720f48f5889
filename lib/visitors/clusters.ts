import { ModelIndex } from '../match/model-index';
import type { VisitorState } from './types';
import { PorchlightError } from '../errors';

export interface ClusterInfo {
  id: number;
  model: string;
  number: number | null;
  state: VisitorState;
  personId: number | null;
}

interface Cluster extends ClusterInfo {
  faces: Set<number>;
  /** Faces per event: a cluster is seen once per event, however many frames of it it holds. */
  events: Map<string, number>;
}

interface FaceInfo {
  clusterId: number;
  eventId: string;
  seenAt: number;
  model: string;
}

export interface NearestCluster {
  clusterId: number;
  /** Average distance from the query to the cluster's faces. */
  distance: number;
}

/**
 * The in-memory side of the visitor clusters: one embedding matrix per model
 * (lib/match's ModelIndex, so one SIMD scan per query), and which face belongs
 * to which cluster and event. Pure bookkeeping, no SQL: VisitorBook keeps it
 * in step with the tables.
 *
 * The joining rule is average linkage: a face joins the cluster whose faces
 * are nearest on average, when that average is within the threshold. On LFW
 * it kept clusters purer than the nearest-member rule (which chains look-alikes
 * together through one close pair) at the same grouping; see docs/ACCURACY.md.
 */
export class VisitorClusters {
  private readonly indexes = new Map<string, ModelIndex>();
  private readonly clusters = new Map<number, Cluster>();
  private readonly faces = new Map<number, FaceInfo>();
  /** The cluster of each face by face id, for the hot loop of a scan (ids are SQLite's dense row ids). */
  private clusterOfFace = new Int32Array(1024);
  private readonly facesByEvent = new Map<string, Set<number>>();
  private maxClusterId = 0;

  get size(): number {
    return this.faces.size;
  }

  addCluster(info: ClusterInfo): void {
    this.clusters.set(info.id, { ...info, faces: new Set(), events: new Map() });
    this.maxClusterId = Math.max(this.maxClusterId, info.id);
  }

  private placeFace(faceId: number, clusterId: number): void {
    if (faceId >= this.clusterOfFace.length) {
      const grown = new Int32Array(Math.max(faceId + 1, this.clusterOfFace.length * 2));
      grown.set(this.clusterOfFace);
      this.clusterOfFace = grown;
    }
    this.clusterOfFace[faceId] = clusterId;
  }

  update(id: number, changes: Partial<Pick<ClusterInfo, 'number' | 'state' | 'personId'>>): void {
    const cluster = this.clusters.get(id);
    if (cluster) Object.assign(cluster, changes);
  }

  cluster(id: number): (ClusterInfo & { seen: number; faces: number; firstSeen: number; lastSeen: number }) | undefined {
    const c = this.clusters.get(id);
    if (!c) return undefined;
    let firstSeen = Infinity;
    let lastSeen = -Infinity;
    for (const faceId of c.faces) {
      const seenAt = this.faces.get(faceId)!.seenAt;
      firstSeen = Math.min(firstSeen, seenAt);
      lastSeen = Math.max(lastSeen, seenAt);
    }
    const { faces, events, ...info } = c;
    return { ...info, seen: events.size, faces: faces.size, firstSeen, lastSeen };
  }

  clusterIds(): number[] {
    return [...this.clusters.keys()];
  }

  addFace(faceId: number, clusterId: number, eventId: string, seenAt: number, model: string, embedding: Float32Array): void {
    const cluster = this.clusters.get(clusterId);
    if (!cluster) throw new PorchlightError('NOT_FOUND', `visitor cluster ${clusterId} is not loaded`);
    let index = this.indexes.get(model);
    if (!index) {
      index = new ModelIndex(model, embedding.length, 'euclidean');
      this.indexes.set(model, index);
    }
    index.add(faceId, 0, embedding);
    this.faces.set(faceId, { clusterId, eventId, seenAt, model });
    this.placeFace(faceId, clusterId);
    let ofEvent = this.facesByEvent.get(eventId);
    if (!ofEvent) this.facesByEvent.set(eventId, (ofEvent = new Set()));
    ofEvent.add(faceId);
    cluster.faces.add(faceId);
    cluster.events.set(eventId, (cluster.events.get(eventId) ?? 0) + 1);
  }

  /** Removes faces; returns the clusters left empty (their rows go with their last face). */
  removeFaces(faceIds: Iterable<number>): number[] {
    const emptied: number[] = [];
    for (const faceId of faceIds) {
      const face = this.faces.get(faceId);
      if (!face) continue;
      this.faces.delete(faceId);
      this.indexes.get(face.model)?.remove(faceId);
      const ofEvent = this.facesByEvent.get(face.eventId);
      ofEvent?.delete(faceId);
      if (ofEvent?.size === 0) this.facesByEvent.delete(face.eventId);
      const cluster = this.clusters.get(face.clusterId);
      if (!cluster) continue;
      cluster.faces.delete(faceId);
      const left = (cluster.events.get(face.eventId) ?? 1) - 1;
      if (left > 0) cluster.events.set(face.eventId, left);
      else cluster.events.delete(face.eventId);
      if (cluster.faces.size === 0) {
        this.clusters.delete(cluster.id);
        emptied.push(cluster.id);
      }
    }
    return emptied;
  }

  facesOfEvents(eventIds: readonly string[]): number[] {
    return eventIds.flatMap((id) => [...(this.facesByEvent.get(id) ?? [])]);
  }

  facesOfCluster(clusterId: number): number[] {
    return [...(this.clusters.get(clusterId)?.faces ?? [])];
  }

  /** Moves every face of `fromId` into `intoId` and drops `fromId`. */
  merge(fromId: number, intoId: number): void {
    const from = this.clusters.get(fromId);
    const into = this.clusters.get(intoId);
    if (!from || !into) throw new PorchlightError('NOT_FOUND', 'both clusters must be loaded');
    for (const faceId of from.faces) {
      const face = this.faces.get(faceId)!;
      face.clusterId = intoId;
      this.placeFace(faceId, intoId);
      into.faces.add(faceId);
      into.events.set(face.eventId, (into.events.get(face.eventId) ?? 0) + 1);
    }
    this.clusters.delete(fromId);
  }

  /**
   * The cluster of `model` nearest to `embedding` on average, leaving out
   * clusters that already hold a face of `eventId` (two people at the door in
   * one event are two visitors), or undefined when there is none.
   */
  nearestCluster(model: string, embedding: Float32Array, eventId: string): NearestCluster | undefined {
    const index = this.indexes.get(model);
    if (!index || index.dim !== embedding.length) return undefined;
    // Summed and counted per cluster in flat arrays: no object or map lookups in the loops over every face and cluster.
    const sums = new Float64Array(this.maxClusterId + 1);
    const counts = new Int32Array(this.maxClusterId + 1);
    const clusterOfFace = this.clusterOfFace;
    index.forEachDistance(embedding, (faceId, distance) => {
      const clusterId = clusterOfFace[faceId];
      sums[clusterId] += distance;
      counts[clusterId]++;
    });
    // Two people at the door in one event are two visitors: the event's own clusters are left out.
    for (const faceId of this.facesByEvent.get(eventId) ?? []) counts[clusterOfFace[faceId]] = 0;
    let best: NearestCluster | undefined;
    for (let clusterId = 1; clusterId < counts.length; clusterId++) {
      if (counts[clusterId] === 0) continue;
      const distance = sums[clusterId] / counts[clusterId];
      if (!best || distance < best.distance) best = { clusterId, distance };
    }
    return best;
  }

  /** Per event, its face nearest to any of the probes (of the same model), nearest events first. */
  nearestEvents(probes: ReadonlyArray<{ model: string; embedding: Float32Array }>, limit: number, maxDistance: number): Array<{ eventId: string; faceId: number; distance: number }> {
    const best = new Map<string, { eventId: string; faceId: number; distance: number }>();
    for (const probe of probes) {
      const index = this.indexes.get(probe.model);
      if (!index || index.dim !== probe.embedding.length) continue;
      index.forEachDistance(probe.embedding, (faceId, distance) => {
        if (distance > maxDistance) return;
        const { eventId } = this.faces.get(faceId)!;
        const current = best.get(eventId);
        if (!current || distance < current.distance) best.set(eventId, { eventId, faceId, distance });
      });
    }
    return [...best.values()].sort((a, b) => a.distance - b.distance).slice(0, limit);
  }

  faceInfo(faceId: number): FaceInfo | undefined {
    return this.faces.get(faceId);
  }
}

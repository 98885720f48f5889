/** What became of a cluster: still a stranger, enrolled under a name, or set aside by the user. */
export type VisitorState = 'open' | 'named' | 'dismissed';

/** An unknown face of an event, as face-recognize hands it over. */
export interface UnknownFace {
  model: string;
  embedding: Float32Array;
  quality: number | null;
  /** JPEG crop of the face. */
  crop: Uint8Array | null;
}

/** A cluster of unknown faces; a "visitor" once it has a number. */
export interface VisitorSummary {
  id: number;
  model: string;
  /** Given once the cluster was seen at `minEvents` distinct events; stable afterwards. */
  number: number | null;
  /** `visitor #7`, or null before the cluster has a number. */
  label: string | null;
  state: VisitorState;
  /** The person the cluster was enrolled as (state `named`). */
  personId: number | null;
  /** Distinct events the cluster's faces come from. */
  seen: number;
  faces: number;
  /** Times (ms since 1970) of its first and last event. */
  firstSeen: number;
  lastSeen: number;
}

/** `msg.verdict.visitor`. */
export interface VerdictVisitor {
  id: number;
  number: number;
  label: string;
  seen: number;
  firstSeen: number;
  lastSeen: number;
}

/** One stored unknown face (its crop is fetched separately). */
export interface VisitorFace {
  id: number;
  visitorId: number;
  eventId: string;
  model: string;
  quality: number | null;
  seenAt: number;
  hasCrop: boolean;
}

/** Where one face of `record` went. */
export interface RecordedFace {
  faceId: number;
  visitorId: number;
  /** Distance to the cluster it joined (its average linkage), or null for a new cluster. */
  distance: number | null;
  visitor: VisitorSummary;
}

/** An event in which a searched face appeared, nearest first. */
export interface FoundEvent {
  eventId: string;
  /** The smallest distance between the searched face(s) and the event's unknown faces. */
  distance: number;
  faceId: number;
  visitorId: number;
  visitorLabel: string | null;
  seenAt: number;
}

/** An embedding to search for ("find this face"). */
export interface Probe {
  model: string;
  embedding: Float32Array;
}

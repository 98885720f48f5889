import type { Box } from '../image/types';

/** Where an event is in its life: created by the press, processing from the first frame, then completed or failed. */
export type EventStatus = 'created' | 'processing' | 'completed' | 'failed';
export const EVENT_STATUSES: readonly EventStatus[] = ['created', 'processing', 'completed', 'failed'];

/** `msg.verdict.status`. */
export type VerdictStatus = 'known' | 'unknown' | 'blacklisted' | 'no_face';
export const VERDICT_STATUSES: readonly VerdictStatus[] = ['known', 'unknown', 'blacklisted', 'no_face'];

/** A face's `match` as face-recognize sets it (`personId`/`name` are null for an unknown face). */
export interface FaceMatch {
  personId?: string | number | null;
  name?: string | null;
  list?: string | null;
  distance?: number | null;
  confidence?: number | null;
}

/** One entry of `msg.faces`, as far as the event log reads it. */
export interface MessageFace {
  box: Box;
  score?: number;
  quality?: number | { score?: number };
  crop?: Uint8Array;
  match?: FaceMatch | null;
  /** face-recognize's decision for the face: known, unknown or blacklisted. */
  status?: string;
}

/** A person named by the verdict (`msg.verdict.people`). */
export interface VerdictPerson {
  personId?: string | number | null;
  name: string;
  list?: string | null;
  distance?: number | null;
}

/** `msg.verdict`. */
export interface Verdict {
  status: VerdictStatus;
  people?: Array<VerdictPerson | string>;
  framesSeen?: number;
  decidedAt?: number;
  latencyMs?: number;
}

/** A stored event as the query API returns it. */
export interface EventSummary {
  id: string;
  trigger: string;
  /** The door or camera the event came from (`msg.event.source.door`); null when it named none. */
  door: string | null;
  status: EventStatus;
  verdict: VerdictStatus | null;
  people: VerdictPerson[];
  startedAt: number;
  completedAt: number | null;
  processingMs: number | null;
  framesSeen: number;
  errorMessage: string | null;
  hasSnapshot: boolean;
}

/** A stored face of an event (the crop itself is fetched separately). */
export interface StoredFace {
  id: number;
  frameSeq: number | null;
  box: Box;
  score: number | null;
  quality: number | null;
  personId: string | null;
  name: string | null;
  list: string | null;
  distance: number | null;
  confidence: number | null;
  hasCrop: boolean;
}

export interface EventDetail extends EventSummary {
  faces: StoredFace[];
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** Filters of `msg.action = 'query'` and `GET /porchlight/events`; every value is bound as an SQL parameter. */
export interface EventFilter {
  since?: number;
  until?: number;
  status?: EventStatus;
  verdict?: VerdictStatus;
  /** A door's name, exactly as recorded. */
  door?: string;
  /** A person's name (case-insensitive); never read as an id. */
  person?: string;
  /** A person's id (digits); never read as a name. */
  personId?: string;
  limit?: number;
  offset?: number;
}

export interface EventPage {
  events: EventSummary[];
  total: number;
}

/**
 * The per-face decision: who is this face, given the nearest stored person(s)?
 * Pure logic, no Node-RED, no I/O.
 */

export type PersonListName = 'known' | 'blacklist';

/** A person's best (smallest) distance to the face; the matcher returns these nearest first. */
export interface MatchCandidate {
  personId: number;
  name: string;
  list: PersonListName;
  distance: number;
  /** This person's calibrated tolerance, when there is one: it overrides `DecisionOptions.tolerance` for them. */
  tolerance?: number;
}

/** `msg.faces[i].match`. */
export interface FaceMatch extends MatchCandidate {
  /** 0..1: about 0.5 at the tolerance, near 1 well inside it. */
  confidence: number;
}

export type FaceStatus = 'known' | 'unknown' | 'blacklisted';

export interface FaceDecision {
  status: FaceStatus;
  /** The person matched (known, blacklisted) or the nearest one that was not close enough (unknown), if any. */
  match?: FaceMatch;
  /** 0..1, how sure the status is. */
  confidence: number;
  /** Why an unknown is unknown: nobody within tolerance, or two people too close to call. */
  reason?: 'no-one-close' | 'ambiguous' | 'empty-db';
}

export interface DecisionOptions {
  /** Largest Euclidean distance accepted as the same person (0.6 for the ResNet descriptor), for people without a calibrated tolerance. */
  tolerance: number;
  /** The best person must be at least this much nearer than the second-best one. */
  margin: number;
}

export const DEFAULT_DECISION: DecisionOptions = { tolerance: 0.6, margin: 0.05 };

/** How quickly confidence falls around the tolerance (distance units). */
const CONFIDENCE_SOFTNESS = 0.05;

/** 0.5 at the tolerance, towards 1 below it and towards 0 above it. */
export function matchConfidence(distance: number, tolerance: number): number {
  return 1 / (1 + Math.exp((distance - tolerance) / CONFIDENCE_SOFTNESS));
}

/** Precedence: the candidate's calibrated tolerance (person, else DB-wide), then the node's. */
export function toleranceFor(candidate: MatchCandidate, options: DecisionOptions): number {
  return candidate.tolerance ?? options.tolerance;
}

function asMatch(candidate: MatchCandidate, options: DecisionOptions): FaceMatch {
  return { ...candidate, confidence: round3(matchConfidence(candidate.distance, toleranceFor(candidate, options))) };
}

/**
 * Decides one face. Blacklist first: a blacklisted person within tolerance
 * wins even when a known person is nearer, because letting a blacklisted
 * visitor pass as known is the costlier mistake. Otherwise the nearest person
 * is accepted when within tolerance and clearly nearer than the next person.
 */
export function decideFace(candidates: readonly MatchCandidate[], options: DecisionOptions = DEFAULT_DECISION): FaceDecision {
  const sorted = [...candidates].sort((a, b) => a.distance - b.distance);
  const [best, second] = sorted;
  if (!best) return { status: 'unknown', confidence: 1, reason: 'empty-db' };
  const blacklisted = sorted.find((c) => c.list === 'blacklist' && c.distance <= toleranceFor(c, options));
  if (blacklisted) {
    const match = asMatch(blacklisted, options);
    return { status: 'blacklisted', match, confidence: match.confidence };
  }
  const match = asMatch(best, options);
  if (best.distance > toleranceFor(best, options)) {
    return { status: 'unknown', match, confidence: round3(1 - match.confidence), reason: 'no-one-close' };
  }
  if (second && second.distance - best.distance < options.margin) {
    return { status: 'unknown', match, confidence: 0.5, reason: 'ambiguous' };
  }
  return { status: 'known', match, confidence: match.confidence };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

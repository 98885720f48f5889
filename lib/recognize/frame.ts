import type { DetectedFace } from '../vision/types';
import type { EmbeddedFace } from '../vision/embedding-types';
import type { BurstVerdict, FaceVote, PersonTally, VerdictStatus } from './burst';
import { decideFace, type DecisionOptions, type FaceDecision, type MatchCandidate, toleranceFor } from './decision';

/**
 * One frame through face-recognize, as pure functions: the faces it is given,
 * each face's decision and vote, the fields of the messages it sends and the
 * ports they leave on.
 */

/** Output ports: verdicts by status, then (when every frame is wanted) every frame. */
export const OUTPUT_OF: Readonly<Record<VerdictStatus, number>> = { known: 0, unknown: 1, blacklisted: 2, no_face: 3 };
export const PER_FRAME_OUTPUT = 4;

/** `msg.faces` from face-detect, as the embed task takes them; undefined when the message has none. */
export function givenFaces(value: unknown): DetectedFace[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((f) => f && typeof f === 'object' && f.box && typeof f.box.width === 'number') as DetectedFace[];
}

/** The status one frame alone would get: blacklist first, then known, then unknown. */
export function frameStatus(decisions: readonly FaceDecision[]): VerdictStatus {
  if (decisions.some((d) => d.status === 'blacklisted')) return 'blacklisted';
  if (decisions.some((d) => d.status === 'known')) return 'known';
  return decisions.length > 0 ? 'unknown' : 'no_face';
}

/** The nearest stored people to an embedding of `model`, nearest first (lib/match `Matcher.nearest`). */
export type NearestPeople = (embedding: Float32Array, model: string, k: number) => MatchCandidate[];

/** How many stored people each face is compared with. */
const CANDIDATES = 5;

/**
 * Each face's decision, and its vote for the burst. A face without an
 * embedding is unknown with no confidence. Each vote carries the tolerance in
 * force for its match, so that a clear match can decide the burst at once.
 */
export function decideFrame(faces: readonly EmbeddedFace[], nearest: NearestPeople, options: DecisionOptions): { decisions: FaceDecision[]; votes: FaceVote[] } {
  const decisions = faces.map((face): FaceDecision => (face.embedding && face.model ? decideFace(nearest(face.embedding, face.model, CANDIDATES), options) : { status: 'unknown', confidence: 0 }));
  const votes = faces.map((face, i): FaceVote => {
    const { match } = decisions[i];
    return { quality: face.quality.score, decision: decisions[i], tolerance: match ? toleranceFor(match, options) : undefined };
  });
  return { decisions, votes };
}

/** `msg.faces` as face-recognize sends them: each face with its crop (a Buffer), decision and embedding (an array). */
export function facesOfMessage(faces: readonly EmbeddedFace[], decisions: readonly FaceDecision[]) {
  return faces.map((face, i) => ({
    box: face.box,
    score: face.score,
    landmarks: face.landmarks,
    quality: face.quality,
    crop: face.crop ? Buffer.from(face.crop.buffer, face.crop.byteOffset, face.crop.length) : undefined,
    status: decisions[i].status,
    match: decisions[i].status === 'unknown' ? null : decisions[i].match,
    model: face.model,
    embedding: face.embedding ? Array.from(face.embedding) : undefined,
  }));
}

/** `msg.verdict`. */
export interface MessageVerdict {
  status: VerdictStatus;
  people: Array<Pick<PersonTally, 'personId' | 'name' | 'list' | 'distance' | 'confidence'>>;
  framesSeen: number;
  decidedAt: number;
  /** From the event's first frame received to the verdict. */
  latencyMs: number;
  reason: BurstVerdict<unknown>['reason'];
  /** The recurring visitor an unknown verdict is about (lib/visitors fileVisitors sets it). */
  visitor?: unknown;
}

/** `msg.verdict` of a burst's verdict, `firstFrameAt` being when its first frame was received. */
export function verdictOfMessage(verdict: BurstVerdict<unknown>, firstFrameAt: number): MessageVerdict {
  return {
    status: verdict.status,
    people: verdict.people.map(({ personId, name, list, distance, confidence }) => ({ personId, name, list, distance, confidence })),
    framesSeen: verdict.framesSeen,
    decidedAt: verdict.decidedAt,
    latencyMs: verdict.decidedAt - firstFrameAt,
    reason: verdict.reason,
  };
}

/** The node's outputs for a verdict: `out` on its status's port, nothing on the others (a fifth, empty, with `perFrame`). */
export function verdictPorts<M>(status: VerdictStatus, out: M, perFrame: boolean): Array<M | null> {
  const ports: Array<M | null> = [null, null, null, null];
  if (perFrame) ports.push(null);
  ports[OUTPUT_OF[status]] = out;
  return ports;
}

/** The node's outputs for one frame when every frame is wanted: `frame` on the fifth port. */
export function framePorts<M>(frame: M): Array<M | null> {
  const ports: Array<M | null> = [null, null, null, null, null];
  ports[PER_FRAME_OUTPUT] = frame;
  return ports;
}

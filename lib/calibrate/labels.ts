import { PorchlightError } from '../errors';
import type { EventRepository } from '../eventlog/repository';
import type { CropEmbedder } from '../engine/reembed';
import { lookupPerson } from '../store/names';
import type { EnrollResult, FaceLabel, Store, LabelVerdict, NewFace, PersonRef } from '../store/types';

export interface LabelRequest {
  eventId: string;
  /** The face's row in the event log. */
  eventFaceId?: number | null;
  /** The face as the event saw it (its stored crop). */
  crop: Uint8Array;
  /** X: the person the match named. */
  person: PersonRef;
  verdict: LabelVerdict;
  /** "It is Y": with `reject`, the face is also enrolled under this name (created when new). */
  correctName?: string;
  /** The match's distance when the face was seen. */
  distance?: number | null;
  actor?: string;
}

export interface LabelResult {
  label: FaceLabel;
  /** The negative example stored for X (a `reject`). */
  negativeFaceId: number | null;
  /** The enrollment under Y ("it is Y"). */
  corrected?: EnrollResult;
}

export function parseVerdict(value: unknown): LabelVerdict {
  if (value === 'confirm' || value === 'reject') return value;
  throw new PorchlightError('BAD_INPUT', "the label's verdict must be 'confirm' (yes, that is X) or 'reject' (not X)");
}

/**
 * Records the user's word on an event face. The crop is embedded again with
 * the engine's pipeline (the event log keeps crops, not embeddings) and kept
 * with the label. "Not X" stores the face as a negative example of X, so the
 * matcher refuses X for faces closer to it than to X's own; "it is Y" also
 * enrolls it under Y like any enrollment.
 */
export async function labelEventFace(store: Store, embed: CropEmbedder, request: LabelRequest): Promise<LabelResult> {
  const verdict = parseVerdict(request.verdict);
  if (typeof request.eventId !== 'string' || !request.eventId) throw new PorchlightError('BAD_INPUT', 'a label needs the event id');
  const person = await lookupPerson(store, request.person);
  const correctName = typeof request.correctName === 'string' && request.correctName.trim() ? request.correctName : undefined;
  if (correctName && verdict !== 'reject') throw new PorchlightError('BAD_INPUT', '"it is Y" goes with the verdict reject (not X)');
  if (correctName && correctName.trim().toLowerCase() === person.name.toLowerCase()) {
    throw new PorchlightError('BAD_INPUT', `"not ${person.name}, it is ${person.name}" contradicts itself; confirm instead`);
  }
  const embedded = await embed(request.crop);
  if (!embedded) throw new PorchlightError('BAD_INPUT', "no face found in the event face's crop");
  const face: NewFace = {
    model: embedded.model,
    embedding: embedded.embedding,
    quality: embedded.quality ?? null,
    crop: request.crop,
    source: `event:${request.eventId}`,
    metadata: { eventFaceId: request.eventFaceId ?? null, label: verdict },
  };

  let negativeFaceId: number | null = null;
  let corrected: EnrollResult | undefined;
  if (verdict === 'reject') {
    negativeFaceId = (await store.enroll(person.name, [{ ...face, kind: 'negative' }])).faceIds[0];
    if (correctName) corrected = await store.enroll(correctName, [face]);
  }
  const label = await store.addLabel({
    eventId: request.eventId,
    eventFaceId: request.eventFaceId ?? null,
    personId: person.id,
    verdict,
    correctedPersonId: corrected?.person.id ?? null,
    faceId: negativeFaceId ?? corrected?.faceIds[0] ?? null,
    model: embedded.model,
    embedding: embedded.embedding,
    distance: request.distance ?? null,
    actor: request.actor ?? '',
  });
  return { label, negativeFaceId, corrected };
}

export interface LoggedFaceLabel {
  eventId: string;
  eventFaceId: number;
  verdict: unknown;
  /** X; default the person the event face matched. */
  person?: PersonRef;
  correctName?: string;
  actor?: string;
}

/** labelEventFace for a face of the event log: its crop, match and distance come from the log. */
export async function labelLoggedFace(store: Store, events: EventRepository, embed: CropEmbedder, request: LoggedFaceLabel): Promise<LabelResult> {
  const { eventId, eventFaceId } = request;
  if (!Number.isInteger(eventFaceId) || eventFaceId <= 0) throw new PorchlightError('BAD_INPUT', 'malformed face id');
  const face = events.get(eventId)?.faces.find((f) => f.id === eventFaceId);
  if (!face) throw new PorchlightError('NOT_FOUND', 'no such face in this event');
  const crop = events.faceCrop(eventId, eventFaceId);
  if (!crop) throw new PorchlightError('NOT_FOUND', 'this face has no crop to learn from (retention or privacy settings dropped it)');
  const person = request.person ?? (face.personId === null ? undefined : Number(face.personId));
  if (person === undefined) throw new PorchlightError('BAD_INPUT', 'this face matched nobody: say who it is not (person)');
  return labelEventFace(store, embed, {
    eventId,
    eventFaceId,
    crop,
    person,
    verdict: parseVerdict(request.verdict),
    correctName: request.correctName,
    distance: face.distance,
    actor: request.actor,
  });
}

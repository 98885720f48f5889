import { CLUSTER_TOLERANCE_SHARE, VisitorBook } from './book';
import { unknownFacesOf } from './message';
import type { VerdictVisitor } from './types';

/** What filing reads of a verdict message (face-recognize's `msg`): its event, faces and verdict. */
export interface VerdictMessage {
  event: { id: string; startedAt: number };
  faces?: unknown;
  verdict: { status: string; visitor?: VerdictVisitor };
}

/** The distance within which a face joins a visitor cluster: a share of the recognition tolerance in force. */
export function clusterDistance(tolerance: number): number {
  return CLUSTER_TOLERANCE_SHARE * tolerance;
}

/** The door's visitor book and the recognition tolerance in force; undefined to file nothing (the node is closing). */
export type VisitorBookOpener = () => Promise<{ book: VisitorBook; tolerance: number } | undefined>;

/**
 * Files a verdict's unknown faces at or above `minQuality` (also those of a
 * mixed event, where someone known came with a stranger) with the door's
 * visitor clusters, each joining the nearest within `clusterDistance(tolerance)`
 * or starting one. An unknown verdict then names its recurring visitor
 * (`msg.verdict.visitor`: "visitor #7, seen 4 times"), which is also returned.
 * `open` is called only when there are faces to file.
 */
export async function fileVisitors(msg: VerdictMessage, minQuality: number, open: VisitorBookOpener): Promise<VerdictVisitor | undefined> {
  const faces = unknownFacesOf(msg.faces, minQuality);
  if (faces.length === 0) return undefined;
  const opened = await open();
  if (!opened) return undefined;
  const recorded = await opened.book.record(msg.event.id, faces, { maxDistance: clusterDistance(opened.tolerance), seenAt: msg.event.startedAt });
  const visitor = recorded.map((r) => VisitorBook.verdictVisitor(r.visitor)).find((v) => v !== undefined);
  if (visitor && msg.verdict.status === 'unknown') msg.verdict.visitor = visitor;
  return visitor;
}

import { newEventId } from './event-id';

/** `msg.event`: one doorbell press followed through every wire. */
export interface DoorbellEvent {
  id: string;
  trigger: string;
  startedAt: number;
  source: Record<string, unknown>;
}

function isEvent(value: unknown): value is DoorbellEvent {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 128 && typeof v.startedAt === 'number';
}

/**
 * Returns the message's event, or a new one when the message has none (or a
 * malformed one), so that every message can be followed into the event log.
 */
/**
 * The card's name of a node type ("porchlight-frame-buffer" -> "frame-buffer"): what logs and
 * stored errors call a stage. Node-RED's registered types carry the package prefix.
 */
export function stageName(nodeType: string): string {
  return nodeType.replace(/^porchlight-/, '');
}

export function ensureEvent(existing: unknown, trigger: string, source: Record<string, unknown>): DoorbellEvent {
  if (isEvent(existing)) {
    // A hand-made event keeps its id (frames join it) but gets what it lacks: the log's columns need both.
    const hasTrigger = typeof existing.trigger === 'string';
    const hasSource = !!existing.source && typeof existing.source === 'object';
    return hasTrigger && hasSource ? existing : { ...existing, trigger: hasTrigger ? existing.trigger : trigger, source: hasSource ? existing.source : source };
  }
  return { id: newEventId(), trigger, startedAt: Date.now(), source };
}

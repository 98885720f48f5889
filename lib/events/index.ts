/** The public API of lib/events: what code outside lib/ may import from this area. */
export { type DoorbellEvent, ensureEvent, stageName } from './event';
export { isEventId, newEventId } from './event-id';
export { conciseOr, MAX_STATUS, type StatusWords } from './status-words';

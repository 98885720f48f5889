import { PorchlightError } from '../errors';
import { MAX_DOOR_LENGTH, MAX_PAGE_SIZE } from './repository';
import { EVENT_STATUSES, VERDICT_STATUSES, type EventFilter, type EventStatus, type VerdictStatus } from './types';

const MAX_PERSON_LENGTH = 200;

function bad(message: string): PorchlightError {
  return new PorchlightError('BAD_INPUT', message);
}

/** A time as milliseconds since the epoch, a numeric string, a Date or an ISO 8601 string. */
function parseTime(name: string, value: unknown): number {
  if (value instanceof Date) value = value.getTime();
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) value = Number(value);
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw bad(`${name} must be a time (milliseconds since 1970 or an ISO 8601 date), got ${JSON.stringify(value)}`);
  return ms;
}

function parseCount(name: string, value: unknown, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw bad(`${name} must be a whole number from 0 to ${max}`);
  return n;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw bad(`${name} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

const present = (value: unknown) => value !== undefined && value !== null && value !== '';

/**
 * Reads a filter from a query string or `msg` properties, refusing anything
 * malformed with a message that says what is expected. Values are only ever
 * bound as SQL parameters, so text such as `' OR 1=1 --` is just a name that
 * matches no one.
 */
export function parseEventFilter(input: Record<string, unknown>): EventFilter {
  const filter: EventFilter = {};
  if (present(input.since)) filter.since = parseTime('since', input.since);
  if (present(input.until)) filter.until = parseTime('until', input.until);
  if (present(input.status)) filter.status = oneOf<EventStatus>('status', input.status, EVENT_STATUSES);
  if (present(input.verdict)) filter.verdict = oneOf<VerdictStatus>('verdict', input.verdict, VERDICT_STATUSES);
  if (present(input.door)) {
    if (typeof input.door !== 'string' || input.door.length > MAX_DOOR_LENGTH) throw bad(`door must be a door's name of at most ${MAX_DOOR_LENGTH} characters`);
    filter.door = input.door;
  }
  // Ids and names never mix: person is a name (a person named "1" is not person 1), personId an id.
  if (present(input.person)) {
    if (typeof input.person !== 'string') throw bad('person must be a name (text); a person id goes in personId');
    if (input.person.length > MAX_PERSON_LENGTH) throw bad(`person must be at most ${MAX_PERSON_LENGTH} characters`);
    filter.person = input.person;
  }
  if (present(input.personId)) {
    const id = typeof input.personId === 'number' ? String(input.personId) : input.personId;
    if (typeof id !== 'string' || !/^[1-9]\d{0,14}$/.test(id)) throw bad('personId must be a person id (a positive whole number)');
    filter.personId = id;
  }
  if (filter.person !== undefined && filter.personId !== undefined) throw bad('give person (a name) or personId, not both');
  // limit=0 asks for the count alone: no events, the total (it once gave one event).
  if (present(input.limit)) filter.limit = parseCount('limit', input.limit, MAX_PAGE_SIZE);
  if (present(input.offset)) filter.offset = parseCount('offset', input.offset, Number.MAX_SAFE_INTEGER);
  return filter;
}

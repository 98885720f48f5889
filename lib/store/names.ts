import { PorchlightError } from '../errors';
import { PERSON_LISTS, type Store, type Person, type PersonList } from './types';

export const MAX_NAME_LENGTH = 100;
/** Longest notes on a person (code points): a line or two of who they are, never a file. */
export const MAX_NOTES_LENGTH = 2000;

/**
 * A person's name, trimmed, 1..100 characters (code points), anything else
 * allowed: names are data, never used as paths, SQL or markup.
 */
export function normalizeName(name: unknown): string {
  if (typeof name !== 'string') throw new PorchlightError('BAD_INPUT', `a name must be a string, got ${typeof name}`);
  const trimmed = name.trim();
  const length = [...trimmed].length;
  if (length === 0) throw new PorchlightError('BAD_INPUT', 'a name must not be empty');
  if (length > MAX_NAME_LENGTH) throw new PorchlightError('BAD_INPUT', `a name must be at most ${MAX_NAME_LENGTH} characters, got ${length}`);
  return trimmed;
}

/** Notes on a person: undefined (none given) or a string of at most MAX_NOTES_LENGTH characters; anything else is BAD_INPUT. */
export function normalizeNotes(notes: unknown): string | undefined {
  if (notes === undefined) return undefined;
  if (typeof notes !== 'string') throw new PorchlightError('BAD_INPUT', `notes must be text, got ${typeof notes}`);
  // Counted without building an array of a huge string's code points.
  const length = notes.length <= MAX_NOTES_LENGTH ? [...notes].length : notes.length;
  if (length > MAX_NOTES_LENGTH) throw new PorchlightError('BAD_INPUT', `notes must be at most ${MAX_NOTES_LENGTH} characters, got ${length}`);
  return notes;
}

export function parseList(list: unknown): PersonList {
  if (typeof list === 'string' && (PERSON_LISTS as readonly string[]).includes(list)) return list as PersonList;
  throw new PorchlightError('BAD_INPUT', `list must be "known" or "blacklist", got ${JSON.stringify(list)}`);
}

/**
 * The person a caller means by `ref`: a number is an id, a string is a name,
 * and never the other: a person named "1" and person id 1 are two people, and
 * a name that matches nobody is not tried as an id.
 */
export async function lookupPerson(store: Pick<Store, 'getPerson'>, ref: unknown): Promise<Person> {
  let person: Person | undefined;
  if (typeof ref === 'number' && Number.isSafeInteger(ref) && ref > 0) person = await store.getPerson(ref);
  else if (typeof ref === 'string') person = await store.getPerson(normalizeName(ref));
  else throw new PorchlightError('BAD_INPUT', 'name a person by msg.name (text) or msg.personId (a whole number)');
  if (!person) throw new PorchlightError('NOT_FOUND', typeof ref === 'number' ? `no person with id ${ref}` : `no person named ${JSON.stringify(ref)}`);
  return person;
}

/**
 * A person id given as text (a URL segment, a form field): digits only, else
 * BAD_INPUT. Ids and names never mix: a name goes through its own explicit
 * field or route (`/porchlight/faces/by-name/:name`).
 */
export function parsePersonId(value: unknown, what = 'person id'): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^[1-9]\d{0,14}$/.test(value)) return Number(value);
  const hint = what.includes('person') ? '; a name goes by name (msg.name, /porchlight/faces/by-name/:name)' : '';
  throw new PorchlightError('BAD_INPUT', `${what} must be a positive whole number, got ${JSON.stringify(value)}${hint}`);
}

/** The person a message means: `personId` (an id, as a number or digits) or else `name` (a name), never one read as the other. */
export function personRefOf(source: { personId?: unknown; name?: unknown }): number | string {
  const ref = optionalPersonRef(source);
  if (ref === undefined) throw new PorchlightError('BAD_INPUT', 'name a person by msg.name (text) or msg.personId (a whole number)');
  return ref;
}

/** As personRefOf, or undefined when neither is given (a label or a search may name nobody). */
export function optionalPersonRef(source: { personId?: unknown; name?: unknown }): number | string | undefined {
  if (source.personId !== undefined && source.personId !== null && source.personId !== '') return parsePersonId(source.personId, 'personId');
  if (source.name === undefined || source.name === null) return undefined;
  if (typeof source.name === 'string') return source.name;
  throw new PorchlightError('BAD_INPUT', `msg.name must be text, got ${typeof source.name}`);
}

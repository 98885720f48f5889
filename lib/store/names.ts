import { PorchlightError } from '../errors';
import { PERSON_LISTS, type FaceStore, type Person, type PersonList } from './types';

export const MAX_NAME_LENGTH = 100;

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

export function parseList(list: unknown): PersonList {
  if (typeof list === 'string' && (PERSON_LISTS as readonly string[]).includes(list)) return list as PersonList;
  throw new PorchlightError('BAD_INPUT', `list must be "known" or "blacklist", got ${JSON.stringify(list)}`);
}

/**
 * The person a caller means by `ref`: a numeric id, or a name; a digits-only
 * string is first a name (names are free text) and then an id.
 */
export async function lookupPerson(store: Pick<FaceStore, 'getPerson'>, ref: unknown): Promise<Person> {
  let person: Person | undefined;
  if (typeof ref === 'number' && Number.isInteger(ref)) person = await store.getPerson(ref);
  else if (typeof ref === 'string') {
    person = await store.getPerson(normalizeName(ref));
    if (!person && /^\d+$/.test(ref.trim())) person = await store.getPerson(Number(ref));
  } else throw new PorchlightError('BAD_INPUT', 'name a person by msg.name (text) or msg.personId (number)');
  if (!person) throw new PorchlightError('NOT_FOUND', `no person ${JSON.stringify(ref)}`);
  return person;
}

import { PorchlightError } from '../errors';
import { PERSON_LISTS, type PersonList } from './types';

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

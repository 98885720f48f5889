import { PorchlightError, type PorchlightErrorCode } from '../errors';

/** A number from text or a number; undefined when blank (undefined, null, empty or white space) or not a finite number. */
export function readNumber(value: unknown): number | undefined {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return undefined;
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A number from an edit dialog's field: an empty, missing, non-numeric or
 * too small value (below `min`) means "use the default".
 */
export function numberSetting(value: unknown, fallback: number, min = 0): number {
  const n = readNumber(value);
  return n === undefined || n < min ? fallback : n;
}

/** What a number a caller gives must be: at least `min`, or above `above`; a whole number when `whole`. */
export interface NumberRule {
  min?: number;
  above?: number;
  whole?: boolean;
}

function describe(rule: NumberRule): string {
  const kind = rule.whole ? 'a whole number' : 'a number';
  if (rule.above === 0 && rule.min === undefined) return rule.whole ? 'a positive whole number' : 'a positive number';
  if (rule.min === 0 && rule.above === undefined && !rule.whole) return 'a non-negative number';
  const bounds = [rule.min !== undefined ? `of at least ${rule.min}` : '', rule.above !== undefined ? `above ${rule.above}` : ''].filter(Boolean);
  return [kind, ...bounds].join(' ');
}

/**
 * A number a caller gave (a message's field, a command-line option): undefined
 * when blank; refused with `code` (BAD_INPUT, or USAGE on a command line) when
 * it is not a number that keeps `rule`. `what` names it in the message.
 */
export function parseNumber(value: unknown, what: string, rule: NumberRule = {}, code: PorchlightErrorCode = 'BAD_INPUT'): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = readNumber(value);
  const kept = n !== undefined && (rule.min === undefined || n >= rule.min) && (rule.above === undefined || n > rule.above) && (!rule.whole || Number.isInteger(n));
  if (!kept) throw new PorchlightError(code, `${what} must be ${describe(rule)}, got ${JSON.stringify(typeof value === 'string' ? value : String(value))}`);
  return n;
}

/**
 * A setting a flow never gave: undefined, null, or empty or white-space text
 * (a flow saved before the setting existed, or written by hand). Such a
 * setting takes the default the edit dialog shows (NODE_DEFAULTS).
 */
export function unset(value: unknown): value is undefined | null | string {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** An edit dialog's checkbox: its default when unset; otherwise on for true (or the text 'true'), off for anything else. */
export function flagSetting(value: unknown, fallback: boolean): boolean {
  return unset(value) ? fallback : value === true || value === 'true';
}

/**
 * An edit dialog's select (or other word): the trimmed text, or its default
 * when unset or not text; with `choices`, also when it is none of them.
 */
export function choiceSetting<T extends string>(value: unknown, fallback: T, choices: readonly T[]): T;
export function choiceSetting(value: unknown, fallback: string): string;
export function choiceSetting(value: unknown, fallback: string, choices?: readonly string[]): string {
  if (unset(value) || typeof value !== 'string') return fallback;
  const text = value.trim();
  return !choices || choices.includes(text) ? text : fallback;
}

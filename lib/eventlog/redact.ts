/**
 * A forgotten person's name leaves the event log: the visit stays on record
 * (when, which verdict), under a placeholder that names no one.
 */

/** What a forgotten person is called in the events that named them: their old id, never their name. */
export function forgottenName(personId: string): string {
  return `(forgotten #${personId})`;
}

/**
 * The JSON text with the name of every object whose `personId` is this
 * person's replaced by the placeholder, at any depth (the stored verdict, its
 * people, its faces' matches). Text that is not JSON is returned as it is.
 */
export function redactPersonJson(text: string, personId: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  let changed = false;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.personId !== undefined && record.personId !== null && String(record.personId) === personId && typeof record.name === 'string') {
      record.name = forgottenName(personId);
      changed = true;
    }
    Object.values(record).forEach(walk);
  };
  walk(value);
  return changed ? JSON.stringify(value) : text;
}

/** Status texts fit under a node in the editor: at most this many characters. */
export const MAX_STATUS = 32;

/**
 * What a node shows under it, decided in lib, drawn by the node: `idle` grey,
 * `busy` blue, `ready` green, `warn` yellow, `error` red. `text` is short
 * (at most MAX_STATUS characters); `detail`, when given, is the whole story
 * for the debug sidebar.
 */
export interface StatusWords {
  tone: 'idle' | 'busy' | 'ready' | 'warn' | 'error';
  text: string;
  detail?: string;
}

/**
 * A problem's own words when they are short (its head before " (retry in 2 s)"
 * or a ": details" part, as in "ffmpeg not installed"), otherwise `instead`.
 */
export function conciseOr(detail: string, instead: string, max = MAX_STATUS): string {
  const head = detail.replace(/\s*\([^)]*\)$/, '').trim();
  if (head && head.length <= max) return head;
  const clause = head.split(': ')[0].trim();
  return clause && clause.length <= max ? clause : instead;
}

import type { Node, NodeStatus } from 'node-red';
import { shortHouseholdWords } from '../../lib/eventlog';
import { MAX_STATUS, type StatusWords } from '../../lib/events';

export { conciseOr, MAX_STATUS } from '../../lib/events';

/**
 * The safety net for a status text: cut at a word boundary with "…" when it
 * is longer than `max`. The texts are written short on purpose; this only
 * catches what a name or a number made longer.
 */
export function shortStatus(text: string, max = MAX_STATUS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const room = flat.slice(0, max - 1);
  const cut = flat[max - 1] === ' ' ? room.length : room.lastIndexOf(' ');
  const head = cut >= max / 2 ? room.slice(0, cut) : room;
  return `${head.replace(/[\s·:,;(-]+$/, '')}…`;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A red status for an error: its kind in the household's words, or its own message cut short. */
export function errorStatus(err: unknown): NodeStatus {
  const message = messageOf(err);
  return { fill: 'red', shape: 'ring', text: shortHouseholdWords(message) ?? shortStatus(message) };
}

const shownDetail = new WeakMap<Node, string>();

/**
 * Shows a short status under the node, and its full `detail` in the debug
 * sidebar once per change of it (a warning for a red or yellow status, a log
 * line otherwise): the same detail again, as on every message or every tick of
 * a timer, is not repeated. A status without detail forgets the last one, so a
 * problem that comes back is told again.
 */
export function showStatus(node: Node, status: NodeStatus, detail?: string): void {
  node.status({ ...status, text: shortStatus(String(status.text ?? '')) });
  if (!detail) {
    shownDetail.delete(node);
    return;
  }
  if (shownDetail.get(node) === detail) return;
  shownDetail.set(node, detail);
  if (status.fill === 'red' || status.fill === 'yellow') node.warn(detail);
  else node.log(detail);
}

/**
 * A message that failed: a red status in the household's words for the kind
 * of failure (lib/eventlog/in-words.ts; the error's own message, cut short,
 * when there are none), and `done(err)` so that Catch nodes and the debug
 * sidebar get the technical message. `quiet` (the node is closing) skips the status.
 */
export function fail(node: Node, done: (err?: Error) => void, err: unknown, options: { quiet?: boolean } = {}): void {
  const error = err instanceof Error ? err : new Error(String(err));
  if (!options.quiet) node.status(errorStatus(error));
  done(error);
}

/** Tells a user of a shared resource (a node, or nobody for an admin request) that it runs with other settings: `conflict` in the sidebar, `text` under the node. */
export function tellConflict(user: { warn?(message: string): void; status?(status: NodeStatus): void }, conflict: string | undefined, text: string): void {
  if (!conflict) return;
  user.warn?.(conflict);
  user.status?.(warnStatus(text));
}

export function busyStatus(text: string): NodeStatus {
  return { fill: 'blue', shape: 'dot', text: shortStatus(text) };
}

export function readyStatus(text: string): NodeStatus {
  return { fill: 'green', shape: 'dot', text: shortStatus(text) };
}

export function warnStatus(text: string): NodeStatus {
  return { fill: 'yellow', shape: 'ring', text: shortStatus(text) };
}

const TONES: Record<StatusWords['tone'], Pick<NodeStatus, 'fill' | 'shape'>> = {
  idle: { fill: 'grey', shape: 'ring' },
  busy: { fill: 'blue', shape: 'dot' },
  ready: { fill: 'green', shape: 'dot' },
  warn: { fill: 'yellow', shape: 'ring' },
  error: { fill: 'red', shape: 'ring' },
};

/** The status a lib decision (`StatusWords`) draws under the node. */
export function toneStatus(words: StatusWords): NodeStatus {
  return { ...TONES[words.tone], text: shortStatus(words.text) };
}

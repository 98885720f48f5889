import type { Node, NodeStatus } from 'node-red';
import { householdWords } from '../../lib/eventlog';

/** Status texts are cut to this many characters (the editor shows them under the node). */
const MAX_STATUS = 60;

const shorten = (text: string) => (text.length > MAX_STATUS ? `${text.slice(0, MAX_STATUS - 3)}...` : text);

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function errorStatus(err: unknown): NodeStatus {
  return { fill: 'red', shape: 'ring', text: shorten(messageOf(err)) };
}

/**
 * A message that failed: a red status in the household's words for the kind
 * of failure (lib/eventlog/in-words.ts; the error's own message when there are
 * none), and `done(err)` so that Catch nodes and the debug sidebar get the
 * technical message. `quiet` (the node is closing) skips the status.
 */
export function fail(node: Node, done: (err?: Error) => void, err: unknown, options: { quiet?: boolean } = {}): void {
  const error = err instanceof Error ? err : new Error(String(err));
  if (!options.quiet) node.status({ fill: 'red', shape: 'ring', text: householdWords(error.message) ?? shorten(error.message) });
  done(error);
}

export function busyStatus(text: string): NodeStatus {
  return { fill: 'blue', shape: 'dot', text };
}

export function readyStatus(text: string): NodeStatus {
  return { fill: 'green', shape: 'dot', text };
}

export function warnStatus(text: string): NodeStatus {
  return { fill: 'yellow', shape: 'ring', text };
}

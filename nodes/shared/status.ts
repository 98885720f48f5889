import type { NodeStatus } from 'node-red';

export function errorStatus(err: unknown): NodeStatus {
  const text = err instanceof Error ? err.message : String(err);
  return { fill: 'red', shape: 'ring', text: text.length > 60 ? `${text.slice(0, 57)}...` : text };
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

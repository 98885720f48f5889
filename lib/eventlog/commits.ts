/**
 * Which events an event log has committed, process-wide, for callers that
 * acknowledge a press only once it is on disk (gpio-doorbell's HTTP route).
 * Every EventLog reports here: a commit of any message of an event (the row
 * exists from then on), or a refusal (the write failed: disk full, read-only
 * or locked database) with whether the log keeps the event to retry it.
 */

export type CommitOutcome =
  | { state: 'committed' }
  | { state: 'refused'; reason: string; retrying: boolean }
  | { state: 'timeout' };

/** Outcomes remembered for events committed or refused before anyone asked (a press joined to an earlier event). */
const RECENT_LIMIT = 1_000;

const recent = new Map<string, CommitOutcome>();
const waiters = new Map<string, Set<(outcome: CommitOutcome) => void>>();

function settle(eventId: string, outcome: CommitOutcome): void {
  // A commit after a refusal (the retry went through) replaces it; a refusal never hides a commit.
  if (outcome.state === 'refused' && recent.get(eventId)?.state === 'committed') return;
  recent.delete(eventId);
  recent.set(eventId, outcome);
  if (recent.size > RECENT_LIMIT) recent.delete(recent.keys().next().value as string);
  const waiting = waiters.get(eventId);
  if (!waiting) return;
  waiters.delete(eventId);
  for (const resolve of waiting) resolve(outcome);
}

/** An event log committed a write of this event: its row is in the database file. */
export function noteCommitted(eventId: string): void {
  settle(eventId, { state: 'committed' });
}

/** An event log could not write this event; `retrying` when it keeps the event and tries again. */
export function noteRefused(eventId: string, reason: string, retrying: boolean): void {
  settle(eventId, { state: 'refused', reason, retrying });
}

/**
 * Resolves with the first commit or refusal of the event reported after (or,
 * from the last RECENT_LIMIT events, before) the call, or `timeout`.
 */
export function awaitCommit(eventId: string, timeoutMs: number): Promise<CommitOutcome> {
  const known = recent.get(eventId);
  if (known) return Promise.resolve(known);
  return new Promise((resolve) => {
    let set = waiters.get(eventId);
    if (!set) waiters.set(eventId, (set = new Set()));
    const done = (outcome: CommitOutcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      const pending = waiters.get(eventId);
      pending?.delete(done);
      if (pending?.size === 0) waiters.delete(eventId);
      resolve({ state: 'timeout' });
    }, timeoutMs);
    set.add(done);
  });
}

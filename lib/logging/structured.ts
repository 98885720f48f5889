import type { EventLog, RecordOutcome } from '../eventlog/event-log';
import { stageName } from '../events/event';

/**
 * Structured logs for log shippers: one JSON line per event
 * transition the event log records (press -> created, frame -> processing,
 * verdict -> completed, failure -> failed) and per error it meets, with the
 * event id, door, stage and timings. Off by default (Node-RED's own log stays
 * as it is); on with `porchlight: { jsonLog: true }` in settings.js or
 * PORCHLIGHT_JSON_LOG=1.
 */
export interface StructuredLine {
  ts: string;
  level: 'info' | 'error';
  kind: 'event' | 'error';
  transition?: 'created' | 'processing' | 'completed' | 'failed';
  eventId?: string;
  door?: string;
  /** The node type that produced the message (gpio-doorbell, face-detect, face-recognize...) or the event log's own work. */
  stage?: string;
  timings?: Record<string, number>;
  verdict?: string;
  error?: string;
}

const TRANSITIONS = { press: 'created', frame: 'processing', verdict: 'completed', failure: 'failed' } as const;
const STAGES = { press: 'doorbell', frame: 'face-detect', verdict: 'face-recognize', failure: 'error' } as const;

/** Whether Node-RED's settings or the environment turn structured logs on. */
export function structuredLogEnabled(settings: { porchlight?: { jsonLog?: unknown } } | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return settings?.porchlight?.jsonLog === true || /^(1|true|yes)$/i.test(env.PORCHLIGHT_JSON_LOG ?? '');
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The line for one recorded message. */
export function transitionLine(outcome: RecordOutcome, msg: Record<string, unknown>, now: number): StructuredLine {
  const event = outcome.event;
  const door = typeof event.source?.door === 'string' ? event.source.door : undefined;
  const error = msg.error as { message?: unknown; source?: { type?: unknown } } | string | undefined;
  const verdict = msg.verdict as { status?: unknown; latencyMs?: unknown } | undefined;
  const detection = msg.detection as { latencyMs?: unknown } | undefined;
  const timings: Record<string, number> = { sinceStartMs: Math.max(0, now - event.startedAt) };
  const latency = num(verdict?.latencyMs);
  if (outcome.kind === 'verdict' && latency !== undefined) timings.latencyMs = latency;
  const detectionMs = num(detection?.latencyMs);
  if (detectionMs !== undefined) timings.detectionMs = detectionMs;
  const errorText = typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : undefined;
  const errorStage = typeof error === 'object' && typeof error?.source?.type === 'string' ? stageName(error.source.type) : undefined;
  return {
    ts: new Date(now).toISOString(),
    level: outcome.kind === 'failure' ? 'error' : 'info',
    kind: 'event',
    transition: TRANSITIONS[outcome.kind],
    eventId: event.id,
    ...(door ? { door } : {}),
    stage: errorStage ?? STAGES[outcome.kind],
    timings,
    ...(outcome.kind === 'verdict' && typeof verdict?.status === 'string' ? { verdict: verdict.status } : {}),
    ...(errorText ? { error: errorText } : {}),
  };
}

/** Writes a JSON line for each transition and error of `log` until the returned function is called. */
export function attachStructuredLog(log: EventLog, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`), now: () => number = Date.now): () => void {
  const emit = (line: StructuredLine) => write(JSON.stringify(line));
  const onRecorded = (outcome: RecordOutcome, msg: Record<string, unknown>) => emit(transitionLine(outcome, msg, now()));
  const onRefused = (event: { id: string }, reason: unknown) => emit({ ts: new Date(now()).toISOString(), level: 'error', kind: 'error', eventId: event.id, stage: 'event-log', error: `recorded after the database was locked: ${reason instanceof Error ? reason.message : String(reason)}` });
  const onSweepFailed = (err: Error) => emit({ ts: new Date(now()).toISOString(), level: 'error', kind: 'error', stage: 'event-log retention', error: err.message });
  log.on('recorded', onRecorded);
  log.on('refused-recorded', onRefused);
  log.on('sweep-failed', onSweepFailed);
  return () => {
    log.off('recorded', onRecorded);
    log.off('refused-recorded', onRefused);
    log.off('sweep-failed', onSweepFailed);
  };
}

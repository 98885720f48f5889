import { MAX_PAGE_SIZE, type EventRepository } from './repository';
import { yieldToLoop } from './retention';
import type { EventFilter, EventSummary } from './types';

export type ExportFormat = 'csv' | 'json';

export const CSV_COLUMNS = [
  'id', 'trigger', 'status', 'verdict', 'people', 'lists', 'distances',
  'started_at', 'completed_at', 'processing_ms', 'frames_seen', 'error_message', 'has_snapshot',
] as const;

/**
 * One CSV field (RFC 4180 quoting). Text that a spreadsheet would run as a
 * formula (a name such as `=HYPERLINK(...)`) is prefixed with a quote.
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function csvRow(e: EventSummary): string {
  const fields = [
    e.id, e.trigger, e.status, e.verdict,
    e.people.map((p) => p.name).join('; '),
    e.people.map((p) => p.list ?? '').join('; '),
    e.people.map((p) => (typeof p.distance === 'number' ? p.distance.toFixed(4) : '')).join('; '),
    isoOrNull(e.startedAt), isoOrNull(e.completedAt), e.processingMs, e.framesSeen, e.errorMessage, e.hasSnapshot,
  ];
  return fields.map(csvField).join(',');
}

/**
 * Every event matching the filter (newest first; `limit`/`offset` bound the
 * export when given), read a page at a time with the loop free in between.
 */
export async function collectEvents(repository: EventRepository, filter: EventFilter): Promise<EventSummary[]> {
  const wanted = filter.limit ?? Number.POSITIVE_INFINITY;
  const events: EventSummary[] = [];
  let offset = filter.offset ?? 0;
  while (events.length < wanted) {
    const page = repository.query({ ...filter, offset, limit: Math.min(MAX_PAGE_SIZE, wanted - events.length) });
    events.push(...page.events);
    if (page.events.length === 0 || offset + page.events.length >= page.total) break;
    offset += page.events.length;
    await yieldToLoop();
  }
  return events;
}

export async function exportEvents(repository: EventRepository, filter: EventFilter, format: ExportFormat): Promise<string> {
  const events = await collectEvents(repository, filter);
  if (format === 'json') return JSON.stringify(events);
  return [CSV_COLUMNS.join(','), ...events.map(csvRow)].join('\r\n') + '\r\n';
}

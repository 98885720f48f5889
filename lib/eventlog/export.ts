import { MAX_PAGE_SIZE } from './repository';
import { yieldToLoop } from './retention';
import type { EventFilter, EventPage, EventSummary } from './types';

/** Where events are exported from: a door's own repository or the shared log (EventReader). */
export interface EventSource {
  query(filter: EventFilter): EventPage | Promise<EventPage>;
}

export type ExportFormat = 'csv' | 'json';

export const CSV_COLUMNS = [
  'id', 'trigger', 'status', 'verdict', 'people', 'lists', 'distances',
  'started_at', 'completed_at', 'processing_ms', 'frames_seen', 'error_message', 'has_snapshot', 'door',
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
    isoOrNull(e.startedAt), isoOrNull(e.completedAt), e.processingMs, e.framesSeen, e.errorMessage, e.hasSnapshot, e.door,
  ];
  return fields.map(csvField).join(',');
}

/**
 * The events matching the filter (newest first; `limit`/`offset` bound the
 * export when given), a page at a time with the loop free in between.
 */
async function* eventPages(source: EventSource, filter: EventFilter): AsyncGenerator<EventSummary[]> {
  let wanted = filter.limit ?? Number.POSITIVE_INFINITY;
  let offset = filter.offset ?? 0;
  while (wanted > 0) {
    const page = await source.query({ ...filter, offset, limit: Math.min(MAX_PAGE_SIZE, wanted) });
    if (page.events.length === 0) return;
    yield page.events;
    offset += page.events.length;
    wanted -= page.events.length;
    if (offset >= page.total) return;
    await yieldToLoop();
  }
}

/** The export as text chunks (CSV lines or JSON array pieces), one per page, for streaming to an HTTP response. */
export async function* exportChunks(source: EventSource, filter: EventFilter, format: ExportFormat): AsyncGenerator<string> {
  let first = true;
  yield format === 'csv' ? `${CSV_COLUMNS.join(',')}\r\n` : '[';
  for await (const events of eventPages(source, filter)) {
    if (format === 'csv') {
      yield events.map((e) => `${csvRow(e)}\r\n`).join('');
    } else {
      yield (first ? '' : ',') + events.map((e) => JSON.stringify(e)).join(',');
      first = false;
    }
  }
  if (format === 'json') yield ']';
}

/** The whole export as one string (for `msg.payload`). */
export async function exportEvents(source: EventSource, filter: EventFilter, format: ExportFormat): Promise<string> {
  let text = '';
  for await (const chunk of exportChunks(source, filter, format)) text += chunk;
  return text;
}

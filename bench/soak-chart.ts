/**
 * The long soak's numbers: its CSV read back, a least
 * squares slope per column (per hour), and an SVG chart drawn from the CSV,
 * one small panel per column with its fitted line. No chart library: plain
 * SVG text, so the docs can embed it and a diff shows what changed.
 */

/** One sample per row; `elapsed_h` is the x of every slope and chart. */
export interface SoakTable {
  columns: string[];
  rows: Array<Record<string, number | string>>;
}

/** The columns the chart and the slopes cover (units in the name), in panel order. */
export const TREND_COLUMNS = ['rss_mb', 'rss_anon_mb', 'heap_used_mb', 'worker_heap_mb', 'external_mb', 'worker_external_mb', 'handles', 'threads', 'db_mb', 'wal_mb', 'snapshots_mb'] as const;

export function toCsv(columns: string[], rows: Array<Record<string, number | string>>): string {
  const cell = (v: number | string | undefined) => (typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : (v ?? ''));
  return [columns.join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\n') + '\n';
}

/** The CSV this soak writes (no quoting: its cells are numbers and ISO times). */
export function parseCsv(text: string): SoakTable {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) return { columns: [], rows: [] };
  const columns = lines[0].split(',');
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(columns.map((c, i) => {
      const raw = cells[i] ?? '';
      const n = Number(raw);
      return [c, raw !== '' && Number.isFinite(n) ? n : raw];
    }));
  });
  return { columns, rows };
}

export interface Slope {
  column: string;
  samples: number;
  /** Least squares slope, units per hour, and its standard error. */
  perHour: number;
  stdError: number;
  /** The fitted line's value at the first sample (the intercept at its x). */
  start: number;
  mean: number;
  /** Standard deviation of the residuals around the fitted line: the noise. */
  noise: number;
  /** perHour × the span of the samples: what the line grew over the run. */
  growth: number;
  /** Growth beyond noise: the slope is over 2 standard errors from 0 and the growth over twice the noise (and over `minGrowth`). */
  grows: boolean;
}

/**
 * Least squares line of `y` on `x` (hours). Fewer than 3 points give a slope
 * with an infinite standard error (never "grows").
 */
export function leastSquares(column: string, xs: number[], ys: number[], minGrowth = 0): Slope {
  const n = xs.length;
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / (v.length || 1);
  const mx = mean(xs);
  const my = mean(ys);
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  const perHour = sxx > 0 ? sxy / sxx : 0;
  const intercept = my - perHour * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i] - (intercept + perHour * xs[i])) ** 2;
  const noise = n > 2 ? Math.sqrt(sse / (n - 2)) : 0;
  const stdError = n > 2 && sxx > 0 ? noise / Math.sqrt(sxx) : Infinity;
  const span = n ? Math.max(...xs) - Math.min(...xs) : 0;
  const growth = perHour * span;
  const significant = stdError === 0 ? perHour !== 0 : Math.abs(perHour) > 2 * stdError;
  const grows = growth > 0 && significant && growth > 2 * noise && growth > minGrowth;
  return { column, samples: n, perHour, stdError, start: n ? intercept + perHour * xs[0] : 0, mean: my, noise, growth, grows };
}

/**
 * A slope per trend column over the samples from `fromHours` on (the
 * warm-up before it is left out: models load, arenas and caches reach their
 * working size). `minGrowth` per column: growth below it is not counted as
 * growth whatever its significance (a 1 MB step in 700 MB of RSS).
 */
export function slopes(table: SoakTable, fromHours = 0, minGrowth: Record<string, number> = {}): Slope[] {
  const rows = table.rows.filter((row) => typeof row.elapsed_h === 'number' && row.elapsed_h >= fromHours);
  return TREND_COLUMNS.filter((c) => table.columns.includes(c)).map((column) => {
    const points = rows.filter((row) => typeof row[column] === 'number');
    return leastSquares(column, points.map((r) => r.elapsed_h as number), points.map((r) => r[column] as number), minGrowth[column] ?? 0);
  });
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '∞');
const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "Nice" bounds for an axis: a little room around the data, never a zero-height range. */
function axisRange(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < 1e-9) {
    const pad = Math.max(Math.abs(hi) * 0.05, 1);
    return [lo - pad, hi + pad];
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  return [lo, hi];
}

/**
 * The chart: a panel per trend column (samples as dots joined by a line, the
 * least squares fit dashed over the samples it covers, the warm-up shaded),
 * with the slope per hour in each title.
 */
export function renderSvg(table: SoakTable, fit: Slope[], options: { title: string; fromHours?: number }): string {
  const columns = TREND_COLUMNS.filter((c) => table.columns.includes(c));
  const cols = 2;
  const panelW = 460;
  const panelH = 210;
  const margin = { left: 62, right: 16, top: 34, bottom: 34 };
  const width = cols * panelW;
  const height = 40 + Math.ceil(columns.length / cols) * panelH;
  const xsAll = table.rows.map((r) => r.elapsed_h).filter((x): x is number => typeof x === 'number');
  const xMax = Math.max(...xsAll, 1e-6);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
  ];
  columns.forEach((column, index) => {
    const ox = (index % cols) * panelW;
    const oy = 40 + Math.floor(index / cols) * panelH;
    const plotW = panelW - margin.left - margin.right;
    const plotH = panelH - margin.top - margin.bottom;
    const points = table.rows.filter((r) => typeof r[column] === 'number' && typeof r.elapsed_h === 'number');
    const [lo, hi] = axisRange(points.map((r) => r[column] as number));
    const sx = (x: number) => ox + margin.left + (x / xMax) * plotW;
    const sy = (y: number) => oy + margin.top + plotH - ((y - lo) / (hi - lo)) * plotH;
    const slope = fit.find((s) => s.column === column);
    const title = slope ? `${column}: ${slope.perHour >= 0 ? '+' : ''}${fmt(slope.perHour, 3)}/h (±${fmt(slope.stdError, 3)})${slope.grows ? ' GROWS' : ''}` : column;
    parts.push(`<g>`);
    parts.push(`<text x="${ox + margin.left}" y="${oy + 20}" font-size="12" font-weight="bold" fill="${slope?.grows ? '#b00' : '#222'}">${esc(title)}</text>`);
    if (options.fromHours && options.fromHours > 0) {
      parts.push(`<rect x="${sx(0)}" y="${oy + margin.top}" width="${Math.max(0, sx(Math.min(options.fromHours, xMax)) - sx(0))}" height="${plotH}" fill="#eee"/>`);
    }
    parts.push(`<rect x="${ox + margin.left}" y="${oy + margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
    for (let t = 0; t <= 4; t++) {
      const y = lo + ((hi - lo) * t) / 4;
      parts.push(`<line x1="${ox + margin.left - 4}" x2="${ox + margin.left}" y1="${sy(y)}" y2="${sy(y)}" stroke="#999"/>`);
      parts.push(`<text x="${ox + margin.left - 6}" y="${sy(y) + 4}" text-anchor="end">${fmt(y, Math.abs(hi - lo) < 10 ? 2 : 0)}</text>`);
      const x = (xMax * t) / 4;
      parts.push(`<text x="${sx(x)}" y="${oy + panelH - margin.bottom + 14}" text-anchor="middle">${fmt(x, xMax < 0.2 ? 3 : 2)} h</text>`);
    }
    if (points.length) {
      const path = points.map((r, i) => `${i ? 'L' : 'M'}${sx(r.elapsed_h as number).toFixed(1)},${sy(r[column] as number).toFixed(1)}`).join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`);
      for (const r of points) parts.push(`<circle cx="${sx(r.elapsed_h as number).toFixed(1)}" cy="${sy(r[column] as number).toFixed(1)}" r="2.2" fill="#1f77b4"/>`);
    }
    if (slope && slope.samples >= 2) {
      const fitted = points.filter((r) => (r.elapsed_h as number) >= (options.fromHours ?? 0));
      const x0 = fitted[0]?.elapsed_h as number;
      const x1 = fitted.at(-1)?.elapsed_h as number;
      if (fitted.length >= 2) {
        const at = (x: number) => slope.start + slope.perHour * (x - x0);
        parts.push(`<line x1="${sx(x0)}" y1="${sy(at(x0))}" x2="${sx(x1)}" y2="${sy(at(x1))}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>`);
      }
    }
    parts.push(`</g>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** The slopes as a Markdown table (the docs section and the run's own summary). */
export function slopesMarkdown(fit: Slope[]): string {
  const lines = [
    '| column | samples | mean | slope per hour (± std. error) | growth over the fitted span | noise (residual sd) | growth beyond noise |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of fit) {
    lines.push(`| ${s.column} | ${s.samples} | ${fmt(s.mean)} | ${s.perHour >= 0 ? '+' : ''}${fmt(s.perHour, 3)} (± ${fmt(s.stdError, 3)}) | ${fmt(s.growth)} | ${fmt(s.noise)} | ${s.grows ? '**yes**' : 'no'} |`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Reads a number from an edit dialog's field: dialogs store strings, and an
 * empty, missing, non-numeric or too small value means "use the default".
 */
export function numberSetting(value: unknown, fallback: number, min = 0): number {
  const n = Number(value);
  return value === '' || value === undefined || value === null || !Number.isFinite(n) || n < min ? fallback : n;
}

import { randomBytes } from 'node:crypto';

/** Crockford base32: sortable as plain strings, no ambiguous letters. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/**
 * A ULID-style id: 48 bits of milliseconds then 80 random bits, so ids sort by
 * creation time. Within one millisecond the random part is incremented, which
 * keeps ids from one process strictly increasing.
 */
export function newEventId(now: number = Date.now()): string {
  if (now === lastTime) {
    for (let i = lastRandom.length - 1; i >= 0; i--) {
      if (lastRandom[i] < 31) {
        lastRandom[i]++;
        break;
      }
      lastRandom[i] = 0;
    }
  } else {
    lastTime = now;
    const bytes = randomBytes(16);
    lastRandom = Array.from(bytes, (b) => b % 32);
  }
  return encodeTime(now) + lastRandom.map((d) => ALPHABET[d]).join('');
}

/** Ids are 26 characters of the alphabet above; anything else is refused (no path tricks). */
export function isEventId(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}

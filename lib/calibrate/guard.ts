/**
 * The calibration's guard rails, in the household's words: whether the
 * labelled history is enough to suggest a tolerance from (counted in faces and
 * visits of people, never in pairs), and what a tolerance would mean at the
 * door: strangers let through per visit, in face-recognize's "about 1 in N"
 * language, and genuine visits missed. Pure numbers and words, no I/O.
 */

import { effectiveGallery, impostorTableFor, pairRateFor, visitRateFor } from '../recognize/strangers';
import type { PersonSamples } from './history';

/** People whose faces can be told apart: at least this many, each with MIN_SAMPLES_PER_PERSON faces or labelled visits. */
export const MIN_PEOPLE = 2;
/** Faces (enrolled photos) plus visits labelled "yes, that was them" that a person needs to count towards MIN_PEOPLE. */
export const MIN_SAMPLES_PER_PERSON = 4;

/** One person short of samples: `personId` null stands for someone not yet in the history ("a second person"). */
export interface Shortfall {
  personId: number | null;
  name: string | null;
  /** What they have now (0 for someone not yet there). */
  have: number;
  /** How many more faces or labelled visits of them are needed. */
  more: number;
}

export interface Readiness {
  ready: boolean;
  /** Empty when ready. */
  shortfalls: Shortfall[];
  /** Faces and labelled visits in the history, all people together. */
  faces: number;
  visits: number;
  /** One sentence: what is there, and what more is needed. */
  words: string;
}

const SOMEONE = ['one person', 'a second person', 'a third person', 'a fourth person', 'a fifth person'];

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/**
 * Enough to suggest from? The `MIN_PEOPLE` people with the most samples
 * must each have `MIN_SAMPLES_PER_PERSON`: then there are faces of the same
 * person to compare (how close a genuine visit comes) and of different people
 * (how close a stranger comes). What is missing is said per person, in faces
 * and labelled visits.
 */
export function calibrationReadiness(samples: ReadonlyMap<number, PersonSamples>, names: ReadonlyMap<number, string>): Readiness {
  const people = [...samples.entries()]
    .map(([personId, s]) => ({ personId, name: names.get(personId) ?? `person ${personId}`, have: s.faces + s.visits }))
    .filter((p) => p.have > 0)
    .sort((a, b) => b.have - a.have || a.name.localeCompare(b.name));
  let faces = 0;
  let visits = 0;
  for (const s of samples.values()) {
    faces += s.faces;
    visits += s.visits;
  }
  const shortfalls: Shortfall[] = [];
  for (let i = 0; i < MIN_PEOPLE; i++) {
    const person = people[i];
    const have = person?.have ?? 0;
    if (have < MIN_SAMPLES_PER_PERSON) shortfalls.push({ personId: person?.personId ?? null, name: person?.name ?? null, have, more: MIN_SAMPLES_PER_PERSON - have });
  }
  const ready = shortfalls.length === 0;
  const has = `The history holds ${plural(faces, 'face', 'faces')} and ${plural(visits, 'labelled visit', 'labelled visits')}`;
  if (ready) return { ready, shortfalls, faces, visits, words: `${has}: enough to suggest from.` };
  let missingPeople = people.length;
  const needs = shortfalls
    .map((s, i) => {
      const what = i === 0 ? ` ${s.more === 1 ? 'face or labelled visit' : 'faces or labelled visits'}` : '';
      if (s.have > 0) return `${s.more} more${what} of ${s.name}`;
      return `${s.more}${what} of ${SOMEONE[missingPeople++] ?? 'someone else'}`;
    })
    .join(' and ');
  return {
    ready,
    shortfalls,
    faces,
    visits,
    words:
      `Not enough to suggest a tolerance yet: it needs ${needs} ` +
      `(${MIN_PEOPLE} people with at least ${MIN_SAMPLES_PER_PERSON} each). ${has}. ` +
      'Enrol more photos on the People page, or press "Yes, …" on an event of theirs.',
  };
}

/** A stranger's chances against the enrolled faces of one model, counted as face-recognize counts them (see `effectiveGallery`). */
export function strangerChances(model: string, samples: ReadonlyMap<number, PersonSamples>): number {
  const exponent = impostorTableFor(model)?.photosExponent ?? 1;
  return effectiveGallery({ photosPerPerson: [...samples.values()].map((s) => s.faces) }, exponent);
}

/** The share of single face comparisons that may fall within the tolerance so that about 1 in `oneIn` strangers' visits is let through. */
export function pairFarForVisits(oneIn: number, chances: number): number {
  return pairRateFor(1 / oneIn, chances);
}

/** Strangers let through per visit when a share `pairFar` of single comparisons falls within the tolerance. */
export function strangersPerVisit(pairFar: number, chances: number): number {
  return visitRateFor(pairFar, chances);
}

/** "about 1 in 1,000 visits" with N to two significant digits (not 1 in 1,013); "about 43 % of visits" from 1 in 5 up. */
export function oneInWords(rate: number, unit = 'visits'): string {
  if (!(rate > 0)) return `no ${unit}`;
  if (rate > 0.2) return `about ${Math.round(rate * 100)} % of ${unit}`;
  const n = 1 / rate;
  return `about 1 in ${(n < 10 ? Math.round(n) : Number(n.toPrecision(2))).toLocaleString('en-US')} ${unit}`;
}

export interface Expectation {
  tolerance: number;
  /** Strangers let through per visit (0..1). */
  strangers: number;
  /** Genuine visits missed (0..1): genuine comparisons further apart than the tolerance; null without any. */
  missed: number | null;
  /** "Strangers let through: about 1 in 1,000 visits. Genuine visits missed: about 1 in 20 (5.0 %)." */
  words: string;
}

/** What a tolerance means at the door, in words and numbers; `beyondTarget`: the history lets more strangers through at it than aimed at. */
export function expectationAt(tolerance: number, strangers: number, accepted: number | null, beyondTarget = false): Expectation {
  const missed = accepted === null ? null : 1 - accepted;
  const strangerWords = `Strangers let through: ${oneInWords(strangers)}${strangers > 0 && strangers <= 0.2 ? ` (${percentWords(strangers)})` : ''}.`;
  let missedWords: string;
  if (missed === null) missedWords = 'Genuine visits missed: not known yet (no two faces of one person to compare).';
  else if (missed === 0) missedWords = 'Genuine visits missed: none in the history (0 %).';
  else missedWords = `Genuine visits missed: ${oneInWords(missed)}${missed <= 0.2 ? ` (${percentWords(missed)})` : ''}.`;
  const beyond = beyondTarget ? ' More than aimed at: faces of different people in the history come closer than this.' : '';
  return { tolerance, strangers, missed, words: `${strangerWords} ${missedWords}${beyond}` };
}

function percentWords(rate: number): string {
  const percent = rate * 100;
  return `${percent < 0.1 ? percent.toPrecision(1) : percent.toFixed(1)} %`;
}

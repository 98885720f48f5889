import { PorchlightError } from '../errors';
import type { CalibratedTolerance, Store, PersonList, ToleranceChange, ToleranceUpdate } from '../store/types';
import { estimateTolerance, rateCurve, shareAtOrBelow, shrinkWeight, shrunkTolerance, type CurvePoint, type ToleranceEstimate } from './estimate';
import { calibrationReadiness, expectationAt, pairFarForVisits, strangerChances, strangersPerVisit, type Expectation, type Readiness } from './guard';
import { collectHistory, type HistoryOptions } from './history';

export interface PersonSuggestion {
  personId: number;
  name: string;
  list: PersonList;
  /** The tolerance suggested for this person (their own estimate shrunk towards the global one). */
  tolerance: number;
  /** Their own estimate before shrinking, when they have enough impostor comparisons for one. */
  ownTolerance: number | null;
  /** 0..1: how much their own estimate counts (see shrinkWeight). */
  weight: number;
  /** True when the suggestion leans mostly on the global one (weight under 0.5): too few samples of their own. */
  shrunk: boolean;
  /** Their true-accept rate at `tolerance` on their genuine samples; null without any. */
  expectedTar: number | null;
  genuine: number;
  impostor: number;
  /** The tolerance in force for them now (their own calibrated one), if any. */
  current: number | null;
}

/** A point of the curve with the strangers let through per visit (face-recognize's "1 in N"), besides the share of single comparisons. */
export interface VisitCurvePoint extends CurvePoint {
  strangers: number;
}

export interface CalibrationSuggestion {
  model: string;
  /** The share of single face comparisons of two different people allowed within the tolerance. */
  targetFar: number;
  /** The target as face-recognize says it: about 1 in this many strangers' visits let through. */
  strangersOneIn: number;
  /** A stranger's chances against the enrolled faces (see `strangerChances`): turns comparisons into visits. */
  chances: number;
  global: ToleranceEstimate & { current: number | null };
  /** What the suggested tolerance means at the door, in words and numbers. */
  expected: Expectation;
  /** What the tolerance in force now means, measured on the same history (null: the nodes' own tolerance is in force). */
  expectedNow: Expectation | null;
  readiness: Readiness;
  people: PersonSuggestion[];
  /** Strangers let through (per comparison and per visit) and genuine visits accepted against the tolerance, over the whole history. */
  curve: VisitCurvePoint[];
  /** One in this many impostor pairs was compared (1 = all). */
  impostorStride: number;
}

export interface SuggestOptions extends HistoryOptions {
  /** The model to calibrate; default the one with the most faces. */
  model?: string;
  /** Points of the curve; default 41. */
  curvePoints?: number;
  /**
   * The target in face-recognize's words: about 1 in this many strangers' visits let through (at least 2).
   * When given, it sets the target (the `targetFar` argument is not read).
   */
  strangersOneIn?: unknown;
}

/**
 * Refused for too little history: `readiness` says what is missing, in faces
 * and labelled visits (the message is its words).
 */
export class NotEnoughHistoryError extends PorchlightError {
  constructor(readonly readiness: Readiness) {
    super('BAD_INPUT', readiness.words);
  }
}

function checkStrangersOneIn(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 2) {
    throw new PorchlightError('BAD_INPUT', 'strangers let through must be given as the N of "about 1 in N visits", a number of at least 2 (for example 1000)');
  }
  return n;
}

/** The model with the most stored faces: the one face-recognize matches with in a DB used by one engine. */
export async function busiestModel(store: Store): Promise<string> {
  const models = await store.models();
  if (models.length === 0) throw new PorchlightError('BAD_INPUT', 'nothing to calibrate: the Porchlight database holds no faces');
  return [...models].sort((a, b) => b.faces - a.faces)[0].model;
}

export function checkTargetFar(value: unknown): number {
  const far = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof far !== 'number' || !(far > 0 && far < 0.5)) {
    throw new PorchlightError('BAD_INPUT', 'the target false-accept rate must be a number between 0 and 0.5 (for example 0.001 for 1 in 1,000)');
  }
  return far;
}

/**
 * Suggests tolerances for `targetFar` from the store's labelled history:
 * one for the household (DB-wide) and one per person, each with the
 * true-accept rate expected at it, and the FAR/TAR curve.
 */
export async function suggestTolerances(store: Store, targetFarInput: unknown, options: SuggestOptions = {}): Promise<CalibrationSuggestion> {
  const visitTarget = options.strangersOneIn === undefined ? undefined : checkStrangersOneIn(options.strangersOneIn);
  if (visitTarget === undefined) checkTargetFar(targetFarInput); // a bad target answers before the history is read
  const model = options.model ?? (await busiestModel(store));
  const history = await collectHistory(store, model, options);
  const everyone = await store.listPeople();
  const readiness = calibrationReadiness(history.samples, new Map(everyone.map((p) => [p.id, p.name])));
  if (!readiness.ready || history.all.impostor.length < 2) throw new NotEnoughHistoryError(readiness);
  const chances = strangerChances(model, history.samples);
  const targetFar = visitTarget === undefined ? checkTargetFar(targetFarInput) : pairFarForVisits(visitTarget, chances);
  const current = new Map((await store.tolerances(model)).map((t) => [t.personId, t.tolerance]));
  const global = estimateTolerance(history.all, targetFar);
  const globalNow = current.get(null) ?? null;
  const impostorSorted = Float64Array.from(history.all.impostor).sort();
  const genuineSorted = Float64Array.from(history.all.genuine).sort();
  const accepted = (tolerance: number) => (genuineSorted.length ? shareAtOrBelow(genuineSorted, tolerance) : null);
  // An extrapolated tolerance can still have strangers of the history within it (a "not X" face close to X): say the measured share then.
  const suggestedMeasured = shareAtOrBelow(impostorSorted, global.tolerance);
  const people: PersonSuggestion[] = [];
  for (const person of everyone) {
    const samples = history.people.get(person.id);
    if (!samples) continue; // no face of this model
    const own = samples.impostor.length >= 2 ? estimateTolerance(samples, targetFar).tolerance : null;
    const weight = own === null ? 0 : shrinkWeight(samples.impostor.length, targetFar);
    const tolerance = shrunkTolerance(own ?? global.tolerance, global.tolerance, weight);
    const genuine = Float64Array.from(samples.genuine).sort();
    people.push({
      personId: person.id,
      name: person.name,
      list: person.list,
      tolerance,
      ownTolerance: own,
      weight,
      shrunk: weight < 0.5,
      expectedTar: genuine.length ? shareAtOrBelow(genuine, tolerance) : null,
      genuine: samples.genuine.length,
      impostor: samples.impostor.length,
      current: current.get(person.id) ?? null,
    });
  }
  return {
    model,
    targetFar,
    strangersOneIn: visitTarget ?? 1 / strangersPerVisit(targetFar, chances),
    chances,
    global: { ...global, current: globalNow },
    expected: expectationAt(global.tolerance, strangersPerVisit(Math.max(targetFar, suggestedMeasured), chances), global.expectedTar, suggestedMeasured > targetFar),
    expectedNow:
      globalNow === null ? null : expectationAt(globalNow, strangersPerVisit(shareAtOrBelow(impostorSorted, globalNow), chances), accepted(globalNow)),
    readiness,
    people,
    curve: rateCurve(history.all, options.curvePoints).map((point) => ({ ...point, strangers: strangersPerVisit(point.far, chances) })),
    impostorStride: history.impostorStride,
  };
}

export interface ApplyOptions {
  actor: string;
  /** Also set each person's own tolerance (default true); otherwise only the DB-wide one. */
  perPerson?: boolean;
}

/** Applies a suggestion in one step and returns the record of what changed; refuses one made from too little history. */
export async function applySuggestion(store: Store, suggestion: CalibrationSuggestion, options: ApplyOptions): Promise<ToleranceChange[]> {
  if (!suggestion.readiness.ready) throw new NotEnoughHistoryError(suggestion.readiness);
  const round = (v: number) => Math.round(v * 10_000) / 10_000;
  const updates: ToleranceUpdate[] = [{ model: suggestion.model, personId: null, tolerance: round(suggestion.global.tolerance) }];
  if (options.perPerson !== false) {
    for (const person of suggestion.people) updates.push({ model: suggestion.model, personId: person.personId, tolerance: round(person.tolerance) });
  }
  return store.setTolerances(updates, { actor: options.actor, targetFar: suggestion.targetFar });
}

/** Clears every calibrated tolerance of `model` (back to the nodes' own), recorded like any change. */
export async function clearCalibration(store: Store, model: string, actor: string): Promise<ToleranceChange[]> {
  const inForce: CalibratedTolerance[] = await store.tolerances(model);
  return store.setTolerances(inForce.map((t) => ({ model, personId: t.personId, tolerance: null })), { actor });
}

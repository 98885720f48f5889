import { DEFAULT_DECISION } from './decision';
import { describeStrangerTolerance, formatOneIn, type GallerySize, strangerTolerance, type StrangerTolerance } from './strangers';

/**
 * The distance in force for face-recognize. It comes from "strangers let
 * through: 1 in N visits", for the model in use and the size of the gallery
 * (strangers.ts); a raw distance set by hand overrides it; a model without a
 * shipped impostor table falls back to the recognizer's own fixed tolerance.
 * Calibrated tolerances (per person or DB-wide) still come first, per match
 * (decision.ts `toleranceFor`).
 */

/** The dialog's tolerance settings. */
export interface ToleranceSetting {
  /** "Strangers let through: about 1 in N visits": N (`parseStrangersOneIn`). */
  strangersOneIn: number;
  /** A distance set by hand that overrides the one derived from `strangersOneIn`; NaN for none. */
  rawTolerance: number;
}

export interface ToleranceInForce {
  tolerance: number;
  /** What the distance was derived from, when it came from the stranger statistics. */
  strangers?: StrangerTolerance;
  /** "distance 0.87 for 1 in 1,000 · 20 people", for the log and `/porchlight/health`. */
  text: string;
  /** The same, short enough for the status: "1 in 1,000 · 20 people". */
  short: string;
}

/** The recognizer in use: its model id and its own fixed tolerance (`EngineSelection.tolerance`). */
export interface RecognizerInUse {
  model: string;
  tolerance?: number;
}

/** The distance in force for `recognizer`, with `gallery` (undefined while the gallery is not known). */
export function toleranceInForce(setting: ToleranceSetting, recognizer: RecognizerInUse, gallery?: GallerySize): ToleranceInForce {
  const { rawTolerance } = setting;
  if (Number.isFinite(rawTolerance)) return { tolerance: rawTolerance, text: `distance ${rawTolerance} (set by hand)`, short: `distance ${rawTolerance} by hand` };
  const { model } = recognizer;
  const strangers = gallery ? strangerTolerance(model, setting.strangersOneIn, gallery) : undefined;
  if (strangers) {
    const people = `${strangers.people} ${strangers.people === 1 ? 'person' : 'people'}`;
    return { tolerance: strangers.distance, strangers, text: describeStrangerTolerance(strangers), short: `1 in ${formatOneIn(strangers.oneIn)} · ${people}` };
  }
  const fallback = recognizer.tolerance ?? DEFAULT_DECISION.tolerance;
  return { tolerance: fallback, text: `distance ${fallback} (the recognizer's; no stranger statistics for ${model})`, short: `distance ${fallback}` };
}

/** The ready status: a short `text` under the node, and the whole `detail` for the log (none while the distance is not known). */
export interface Readiness {
  text: string;
  detail?: string;
}

/** "ready · 1 in 1,000 · 20 people" (or "ready · calibrated tolerance" when a calibrated one is in force); plain "ready" while `inForce` is not known. */
export function readiness(inForce: ToleranceInForce | undefined, calibrated: boolean): Readiness {
  if (!inForce) return { text: 'ready' };
  return {
    text: calibrated ? 'ready · calibrated tolerance' : `ready · ${inForce.short}`,
    detail: `ready: ${inForce.text}${calibrated ? ' · calibrated tolerance in force' : ''}`,
  };
}

/** What `/porchlight/health` shows of a face-recognize node once its engine and gallery are known. */
export function toleranceHealth(setting: ToleranceSetting, recognizer: RecognizerInUse, inForce: ToleranceInForce, calibrated: boolean) {
  return {
    ok: true,
    distance: inForce.tolerance,
    tolerance: inForce.text,
    strangersOneIn: Number.isFinite(setting.rawTolerance) ? null : setting.strangersOneIn,
    people: inForce.strangers?.people,
    model: recognizer.model,
    calibrated,
  };
}

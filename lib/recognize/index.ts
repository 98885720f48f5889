/** The public API of lib/recognize: what code outside lib/ may import from this area. */
export { BurstConsensus, type BurstOptions, burstPlaceOf, type BurstVerdict, DEFAULT_BURST, type FaceVote, type VerdictStatus } from './burst';
export { decideFace, type DecisionOptions, DEFAULT_DECISION, type FaceDecision, type MatchCandidate, toleranceFor } from './decision';
export { buildImpostorTable } from './impostor-stats';
export { DEFAULT_STRANGERS_ONE_IN, describeStrangerTolerance, effectiveGallery, formatOneIn, type ImpostorTable, impostorTableFor, pairRateAtDistance, parseStrangersOneIn, strangerTolerance, type StrangerTolerance, visitRateFor } from './strangers';

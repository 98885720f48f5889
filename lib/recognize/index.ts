/** The public API of lib/recognize: what code outside lib/ may import from this area. */
export { BurstConsensus, type BurstOptions, burstPlaceOf, type BurstVerdict, DEFAULT_BURST, type FaceVote, type VerdictStatus } from './burst';
export { decideFace, type DecisionOptions, DEFAULT_DECISION, type FaceDecision, type MatchCandidate, toleranceFor } from './decision';
export { buildImpostorTable } from './impostor-stats';
export { DEFAULT_STRANGERS_ONE_IN, describeStrangerTolerance, effectiveGallery, formatOneIn, type ImpostorTable, impostorTableFor, pairRateAtDistance, parseStrangersOneIn, strangerTolerance, type StrangerTolerance, visitRateFor } from './strangers';
export { DoorRecognizer, type FiledVerdict, type FrameMessage, type Gallery, type RecognizeSettings, type RecognizeWiring } from './door';
export { decideFrame, facesOfMessage, framePorts, frameStatus, givenFaces, type MessageVerdict, type NearestPeople, OUTPUT_OF, PER_FRAME_OUTPUT, verdictOfMessage, verdictPorts } from './frame';
export { readiness, type Readiness, toleranceHealth, toleranceInForce, type ToleranceInForce, type ToleranceSetting } from './in-force';

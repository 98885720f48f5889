/**
 * A failed event's error, in a sentence for the household at the door. The
 * technical message stays in the event (`errorMessage`), one click away on the
 * dashboard; this is what the page says first. The third column is the same in
 * a few words, for a node's status under it in the editor (at most 32 characters).
 */
const SENTENCES: Array<[RegExp, string, string]> = [
  [/redeployed|node closed/i, 'Porchlight restarted before it could decide who was at the door.', 'restarted mid-ring'],
  [/NOT_AN_IMAGE|UNSUPPORTED_FORMAT|CORRUPT_IMAGE|not an image|corrupt|truncat|premature|unsupported image/i, "The camera's picture could not be read.", 'picture unreadable'],
  [/queue|tasks already waiting|already running|dropped|QUEUE_FULL/i, 'Porchlight was too busy to look at this ring.', 'too busy for this ring'],
  [/no frame|frame-buffer|camera|stream/i, 'The camera sent no picture.', 'camera: no picture'],
  [/READ_ONLY|read-only database|readonly database/i, "The database can't be written to: Node-RED has no write access to it.", 'database read-only'],
  [/DB_UNREACHABLE|unreachable|face-db|face DB|database|postgres|sqlite|ECONNREFUSED/i, "Couldn't reach the face database.", 'face database unreachable'],
  [/CIRCUIT_OPEN|circuit/i, 'Face recognition is paused for a moment after failing several times in a row.', 'paused after failures'],
  [/timed out|timeout/i, 'Recognising the face took too long.', 'took too long'],
  [/worker|model|weights|onnx|detector|backend|pool/i, 'Face recognition is not working right now.', 'face recognition not working'],
];

/** The sentence for a known kind of failure; null for one the household has no words for (or no message). */
export function householdWords(errorMessage: string | null | undefined): string | null {
  if (!errorMessage) return null;
  for (const [pattern, sentence] of SENTENCES) if (pattern.test(errorMessage)) return sentence;
  return null;
}

/** The same as `householdWords`, in a few words for a node's status. */
export function shortHouseholdWords(errorMessage: string | null | undefined): string | null {
  if (!errorMessage) return null;
  for (const [pattern, , short] of SENTENCES) if (pattern.test(errorMessage)) return short;
  return null;
}

export function problemInWords(errorMessage: string | null | undefined): string | null {
  if (!errorMessage) return null;
  return householdWords(errorMessage) ?? 'Something went wrong while looking at the visitor.';
}

/** An event (summary or detail) with its error in words beside the technical message. */
export function withProblemInWords<T extends { errorMessage: string | null }>(event: T): T & { problem: string | null } {
  return { ...event, problem: problemInWords(event.errorMessage) };
}

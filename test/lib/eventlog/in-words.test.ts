import assert from 'node:assert/strict';
import { problemInWords, shortHouseholdWords } from '../../../lib/eventlog/in-words';
import { PorchlightError } from '../../../lib/errors';

describe('a failed event in household words (lib/eventlog/in-words)', () => {
  // The messages below are the ones the nodes write into the event log (String(err) of what they raise).
  const said = (err: Error) => problemInWords(String(err));

  it('says the camera sent no picture when the frame buffer had none for the event', () => {
    assert.equal(said(new PorchlightError('BAD_INPUT', 'frame-buffer: no frame to send for event 01M959ABC (no frame yet)')), 'The camera sent no picture.');
  });

  it("says the face database could not be reached when it was down", () => {
    assert.equal(said(new PorchlightError('DB_UNREACHABLE', 'connect ECONNREFUSED 127.0.0.1:5432')), "Couldn't reach the face database.");
  });

  it('says the database cannot be written to when Node-RED has no write access, not that it is unreachable', () => {
    const readOnly = new PorchlightError('READ_ONLY', 'read-only database: /data/porchlight.db (attempt to write a readonly database): give Node-RED write access to the file');
    assert.equal(said(readOnly), "The database can't be written to: Node-RED has no write access to it.");
    assert.equal(shortHouseholdWords(String(readOnly)), 'database read-only');
  });

  it('says Porchlight restarted when the flow was redeployed in the middle of an event', () => {
    assert.equal(problemInWords('node closed/redeployed before the verdict'), 'Porchlight restarted before it could decide who was at the door.');
  });

  it('says too long, too busy, unreadable picture, and a general sentence for the rest; nothing for no error', () => {
    assert.equal(said(new PorchlightError('TASK_TIMEOUT', 'task timed out after 30000 ms')), 'Recognising the face took too long.');
    assert.equal(said(new PorchlightError('QUEUE_FULL', 'queue full (8 waiting)')), 'Porchlight was too busy to look at this ring.');
    assert.equal(said(new PorchlightError('CORRUPT_IMAGE', 'VipsJpeg: premature end of JPEG file')), "The camera's picture could not be read.");
    assert.equal(said(new Error('EACCES: permission denied')), 'Something went wrong while looking at the visitor.');
    assert.equal(problemInWords(null), null);
    assert.equal(problemInWords(''), null);
  });

  it('never shows the developer words (error class names, codes, ids) in the sentence', () => {
    for (const message of ['PorchlightError: frame-buffer: no frame to send for event 01M959', 'Error: INTERNAL', 'TypeError: x is undefined']) {
      assert.doesNotMatch(problemInWords(message) ?? '', /Error|frame-buffer|01M959|INTERNAL|undefined/);
    }
  });
});

// A change asked for on the dashboard, as a message the face-db node takes:
// msg.action, msg.name / msg.personId, msg.list, msg.newName, msg.faceId,
// msg.eventId / msg.eventFaceId / msg.verdict (label), msg.strangers (calibration: about 1 in N visits),
// msg.visitorId / msg.into (visitors), and
// for an enrolment (and facesInPhoto, which finds the faces of a group photo
// to tap one) the photo, which the browser sends as a data URL; msg.box picks one face.
const ACTIONS = ['enroll', 'facesInPhoto', 'rename', 'move', 'forget', 'removeFace', 'label', 'applyCalibration', 'clearCalibration', 'nameVisitor', 'mergeVisitors', 'dismissVisitor'];
if (!ACTIONS.includes(msg.action)) {
    node.warn(`the dashboard asked for ${JSON.stringify(msg.action)}; expected one of ${ACTIONS.join(', ')}`);
    return null;
}
if (msg.action === 'enroll' || msg.action === 'facesInPhoto') {
    const match = /^data:image\/[a-z+.-]+;base64,(.*)$/s.exec(String(msg.payload || ''));
    if (!match) {
        node.warn(`the dashboard sent ${msg.action} without a photo`);
        return null;
    }
    msg.payload = Buffer.from(match[1], 'base64');
}
return msg;

// A change asked for on the dashboard, as a message the face-db node takes:
// msg.action, msg.name / msg.personId, msg.list, msg.newName, msg.faceId,
// msg.eventId / msg.eventFaceId / msg.verdict (label), msg.far (calibration),
// msg.visitorId / msg.into (visitors), and
// for an enrolment the photo, which the browser sends as a data URL.
const ACTIONS = ['enroll', 'rename', 'move', 'forget', 'removeFace', 'label', 'applyCalibration', 'clearCalibration', 'nameVisitor', 'mergeVisitors', 'dismissVisitor'];
if (!ACTIONS.includes(msg.action)) {
    node.warn(`the dashboard asked for ${JSON.stringify(msg.action)}; expected one of ${ACTIONS.join(', ')}`);
    return null;
}
if (msg.action === 'enroll') {
    const match = /^data:image\/[a-z+.-]+;base64,(.*)$/s.exec(String(msg.payload || ''));
    if (!match) {
        node.warn('the dashboard sent an enrolment without a photo');
        return null;
    }
    msg.payload = Buffer.from(match[1], 'base64');
}
return msg;

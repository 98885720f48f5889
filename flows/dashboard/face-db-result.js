// The face-db node's answer (output) or its error (catch node), told back to
// the dashboard page that asked, in words.
const dashboard = msg.dashboard || {};
if (msg.error) {
    dashboard.ok = false;
    dashboard.message = `Not done: ${msg.error.message}`;
} else {
    const refused = (msg.payload && msg.payload.refused) || [];
    dashboard.ok = true;
    if (msg.action === 'facesInPhoto') {
        // The faces of a photo, for the page to draw a box over each: nothing changed yet.
        const faces = msg.payload.faces;
        dashboard.photo = msg.payload;
        dashboard.message = faces.length === 0 ? 'No face found in this photo.'
            : faces.length === 1 ? 'One face in this photo.'
                : `${faces.length} faces in this photo: tap the one to enrol.`;
    } else {
        dashboard.message = msg.action === 'enroll'
            ? `Enrolled ${msg.name}${refused.length ? ` (${refused.length} photo(s) refused: ${refused.map((r) => r.reason).join('; ')})` : ''}`
            : dashboard.done || 'Done';
    }
}
return { topic: 'face-db-result', dashboard };

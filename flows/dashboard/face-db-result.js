// The face-db node's answer (output) or its error (catch node), told back to
// the dashboard page that asked, in words.
const dashboard = msg.dashboard || {};
if (msg.error) {
    dashboard.ok = false;
    dashboard.message = `Not done: ${msg.error.message}`;
} else {
    const refused = (msg.payload && msg.payload.refused) || [];
    dashboard.ok = true;
    dashboard.message = msg.action === 'enroll'
        ? `Enrolled ${msg.name}${refused.length ? ` (${refused.length} photo(s) refused: ${refused.map((r) => r.reason).join('; ')})` : ''}`
        : dashboard.done || 'Done';
}
return { topic: 'face-db-result', dashboard };

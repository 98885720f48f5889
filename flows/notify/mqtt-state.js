// The verdict as a small retained JSON document: Home Assistant shows `state`
// and keeps the other fields as the sensor's attributes.
const verdict = msg.verdict || {};
const names = (verdict.people || []).map((person) => person.name).filter(Boolean);
const state = {
    known: names.join(', '),
    unknown: 'unknown',
    blacklisted: `blacklisted: ${names.join(', ')}`,
    no_face: 'no face',
}[verdict.status] || verdict.status;
return {
    topic: 'porchlight/doorbell/last_visitor',
    retain: true,
    payload: {
        state,
        verdict: verdict.status,
        names,
        event_id: msg.event && msg.event.id,
        at: new Date((msg.event && msg.event.startedAt) || Date.now()).toISOString(),
        latency_ms: verdict.latencyMs,
    },
};

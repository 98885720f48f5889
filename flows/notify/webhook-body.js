// A small JSON body for a webhook: who, what verdict, when. The frame stays at home.
const verdict = msg.verdict || {};
return {
    headers: { 'content-type': 'application/json' },
    payload: {
        verdict: verdict.status,
        names: (verdict.people || []).map((person) => person.name).filter(Boolean),
        eventId: msg.event && msg.event.id,
        at: new Date((msg.event && msg.event.startedAt) || Date.now()).toISOString(),
        latencyMs: verdict.latencyMs,
    },
};

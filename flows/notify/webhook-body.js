// A small JSON body for a webhook: who, what verdict, when, at which door. The frame stays at home.
const verdict = msg.verdict || {};
const source = (msg.event && msg.event.source) || {};
return {
    headers: { 'content-type': 'application/json' },
    payload: {
        verdict: verdict.status,
        door: typeof source.door === 'string' ? source.door : null,
        names: (verdict.people || []).map((person) => person.name).filter(Boolean),
        eventId: msg.event && msg.event.id,
        at: new Date((msg.event && msg.event.startedAt) || Date.now()).toISOString(),
        latencyMs: verdict.latencyMs,
    },
};

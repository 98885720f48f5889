// The last 30 days of events as two charts: visitors per day by verdict, and
// the time from the press to the verdict of each event. Every series is sent in the
// same order (the charts colour series by order: green, orange, red, grey), named
// in words for the legend; a third message says "no data yet" above empty charts.
const VERDICTS = ['known', 'unknown', 'blacklisted', 'no_face'];
const IN_WORDS = { known: 'known people', unknown: 'strangers', blacklisted: 'blacklisted', no_face: 'no face seen' };
const events = ((msg.payload && msg.payload.events) || []).filter((event) => VERDICTS.includes(event.verdict));
const days = [...new Set(events.map((event) => new Date(event.startedAt).toISOString().slice(0, 10)))].sort();
const bars = [];
for (const verdict of VERDICTS) {
    for (const day of days) {
        const count = events.filter((event) => event.verdict === verdict && new Date(event.startedAt).toISOString().startsWith(day)).length;
        bars.push({ day, verdict: IN_WORDS[verdict], count });
    }
}
const latency = VERDICTS.flatMap((verdict) => events
    .filter((event) => event.verdict === verdict && event.completedAt != null)
    .map((event) => ({ at: event.startedAt, ms: Math.round(event.completedAt - event.startedAt), verdict: IN_WORDS[verdict] })));
return [
    { topic: 'per-day', payload: bars, action: 'replace' },
    { topic: 'latency', payload: latency, action: 'replace' },
    { topic: 'charts-empty', payload: { empty: events.length === 0 } },
];

// The last 30 days of events as two charts: visitors per day by verdict, and
// the time from press to verdict of each event.
const events = (msg.payload && msg.payload.events) || [];
const perDay = new Map();
const latency = [];
for (const event of events) {
    if (!event.verdict) continue;
    const day = new Date(event.startedAt).toISOString().slice(0, 10);
    const key = `${day}|${event.verdict}`;
    perDay.set(key, (perDay.get(key) || 0) + 1);
    if (event.processingMs != null) latency.push({ at: event.startedAt, ms: Math.round(event.processingMs), verdict: event.verdict });
}
const bars = [...perDay.entries()]
    .map(([key, count]) => {
        const [day, verdict] = key.split('|');
        return { day, verdict, count };
    })
    .sort((a, b) => a.day.localeCompare(b.day));
return [
    { topic: 'per-day', payload: bars, action: 'replace' },
    { topic: 'latency', payload: latency.reverse(), action: 'replace' },
];

// Porchlight over MQTT, one topic level per door (its name in lower case,
// anything but letters, digits, - and _ as _; no door: "doorbell"):
//   porchlight/<door>/verdict  retained: the last visitor, as soon as it is decided
//                              (Home Assistant shows `state`, the rest are attributes)
//   porchlight/<door>/event    not retained: each event once the event log stored it
//                              (completed with its snapshot, or failed)
// Output 2: Home Assistant discovery of a "<door> last visitor" sensor, sent
// with the first verdict of each door after a deploy.
const event = msg.event || {};
const verdict = msg.verdict || {};
const door = (event.source && typeof event.source.door === 'string' && event.source.door.trim()) || null;
const level = (door || '').toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'doorbell';
const names = (verdict.people || []).map((person) => (typeof person === 'string' ? person : person.name)).filter(Boolean);
const common = {
    event_id: event.id,
    door,
    verdict: verdict.status || null,
    names,
    at: new Date(event.startedAt || Date.now()).toISOString(),
    latency_ms: verdict.latencyMs === undefined ? null : verdict.latencyMs,
};

if (msg.eventLog) {
    // From the event log's second output. snapshot_url is relative to this
    // Node-RED's admin root and needs the porchlight.read permission.
    const stored = msg.eventLog;
    const payload = { ...common, status: stored.status, verdict: stored.verdict || null, snapshot_url: stored.snapshotUrl || null,
        error: msg.error ? String(msg.error.message || msg.error) : null };
    return [{ topic: `porchlight/${level}/event`, retain: false, payload }, null];
}

const state = { known: names.join(', '), unknown: 'unknown', blacklisted: `blacklisted: ${names.join(', ')}`, no_face: 'no face' }[verdict.status] || verdict.status;
const update = { topic: `porchlight/${level}/verdict`, retain: true, payload: { state, ...common } };

const announced = context.get('doors') || [];
if (announced.includes(level)) return [update, null];
context.set('doors', announced.concat(level));
const id = `porchlight_${level}_last_visitor`;
const discovery = {
    topic: `homeassistant/sensor/${id}/config`,
    retain: true,
    payload: {
        name: `${door || 'Doorbell'} last visitor`,
        unique_id: id,
        object_id: id,
        state_topic: update.topic,
        value_template: '{{ value_json.state }}',
        json_attributes_topic: update.topic,
        icon: 'mdi:doorbell-video',
        device: { identifiers: ['porchlight_doorbell'], name: 'Porchlight doorbell', manufacturer: 'Porchlight', model: 'Node-RED face-recognition doorbell' },
    },
};
return [update, discovery];

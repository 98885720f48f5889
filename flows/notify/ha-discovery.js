// Home Assistant MQTT discovery: announces a "Porchlight last visitor" sensor
// that follows porchlight/doorbell/last_visitor (retained, so it survives restarts).
return {
    topic: 'homeassistant/sensor/porchlight_last_visitor/config',
    retain: true,
    payload: {
        name: 'Porchlight last visitor',
        unique_id: 'porchlight_last_visitor',
        object_id: 'porchlight_last_visitor',
        state_topic: 'porchlight/doorbell/last_visitor',
        value_template: '{{ value_json.state }}',
        json_attributes_topic: 'porchlight/doorbell/last_visitor',
        icon: 'mdi:doorbell-video',
        device: { identifiers: ['porchlight_doorbell'], name: 'Porchlight doorbell', manufacturer: 'Porchlight', model: 'Node-RED face-recognition doorbell' },
    },
};

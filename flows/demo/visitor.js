// Puts one of the demo's visitors in front of the simulated camera.
const VISITORS = ['nobody', 'alice', 'mallory', 'stranger'];
if (!VISITORS.includes(msg.payload)) {
    node.warn(`unknown demo visitor ${JSON.stringify(msg.payload)}; one of ${VISITORS.join(', ')}`);
    return null;
}
global.set('porchlightDemoVisitor', msg.payload);
node.status({ fill: 'blue', shape: 'dot', text: `at the door: ${msg.payload}` });
return msg;

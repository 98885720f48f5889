// The simulated camera's next frame: the picture of whoever stands at the door.
// PORCHLIGHT_DEMO_DIR is set by `npm start` (scripts/start.ts), which cuts the pictures at first start.
const visitor = global.get('porchlightDemoVisitor') || 'nobody';
msg.filename = `${env.get('PORCHLIGHT_DEMO_DIR')}/scenes/${visitor}.jpg`;
return msg;

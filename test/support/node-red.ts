import helper from 'node-red-node-test-helper';

helper.init(require.resolve('node-red'));

export { helper };

/** Resolves with the next message a helper node receives, or rejects after `ms`. */
export function nextMessage<T = Record<string, unknown>>(node: { on(event: 'input', cb: (msg: T) => void): void }, ms = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
    node.on('input', (msg: T) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/**
 * Sends `msg` to the node `nodeId`; resolves with the next message the helper
 * node `outId` receives, or rejects with the error the node reported through done(err).
 */
export function sendAndAwait<T = any>(nodeId: string, outId: string, msg: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const node = helper.getNode(nodeId);
    const out = helper.getNode(outId);
    // on/removeListener with the same functions: Node-RED keeps input listeners in its own list, where a
    // leftover `once` wrapper would swallow the next message.
    const stop = () => {
      out.removeListener('input', onMessage);
      node.removeListener('call:error', onError);
    };
    const onMessage = (m: T) => {
      stop();
      resolve(m);
    };
    const onError = (call: { args: [Error] }) => {
      stop();
      reject(call.args[0]);
    };
    out.on('input', onMessage);
    node.on('call:error', onError);
    node.receive(msg);
  });
}

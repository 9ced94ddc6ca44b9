// Calls into an app running in a worker or a service worker, over a MessageChannel: the page
// sends one port with a `connect` message, then each call is `{ id, method, args }` and each
// answer `{ id, value }` or `{ id, error }`.

/** In the worker: answers calls on `api` for every page that connects. */
export function serve(scope, api) {
  scope.addEventListener("message", (event) => {
    if (!event.data?.connect) return;
    const port = event.ports[0];
    port.onmessage = async ({ data: { id, method, args } }) => {
      try {
        port.postMessage({ id, value: await api[method](...args) });
      } catch (error) {
        port.postMessage({ id, error: { name: error?.name, message: String(error?.message ?? error) } });
      }
    };
  });
}

/** In the page: an object whose methods call the app behind `target` (a Worker or a
 * ServiceWorker) and resolve with its answers. */
export function connect(target) {
  const { port1, port2 } = new MessageChannel();
  target.postMessage({ connect: true }, [port2]);
  const waiting = new Map();
  let next = 0;
  port1.onmessage = ({ data }) => {
    const call = waiting.get(data.id);
    waiting.delete(data.id);
    if (data.error) call.reject(Object.assign(new Error(data.error.message), { name: data.error.name }));
    else call.resolve(data.value);
  };
  return new Proxy(
    {},
    {
      get: (_, method) => (...args) =>
        new Promise((resolve, reject) => {
          const id = next++;
          waiting.set(id, { resolve, reject });
          port1.postMessage({ id, method, args });
        }),
    },
  );
}

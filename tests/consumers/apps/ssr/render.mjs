// Server-side rendering in Node: importing the package and its React bindings must not crash,
// open() must reject with StorageUnavailableError, and a page that renders <FerrysyncProvider>
// with the open() promise renders its fallback. Prints what happened as JSON.
import { createElement } from "react";
import { renderToString } from "react-dom/server";

const started = performance.now();
const ferrysync = await import("ferrysync");
const { FerrysyncProvider, useLiveQuery } = await import("ferrysync/react");
const importMs = performance.now() - started;

const rejection = (promise) => promise.then(() => null, (error) => error);
const opening = ferrysync.open({ app: "ssr", version: 1, collections: { notes: {} } });
const openError = await rejection(opening);
const deleteError = await rejection(ferrysync.deleteDatabase("ssr"));

function Notes() {
  const notes = useLiveQuery(null);
  return createElement("p", null, notes === undefined ? "no notes on the server" : `${notes.length} notes`);
}
const html = renderToString(
  createElement(FerrysyncProvider, { db: opening, fallback: createElement("p", null, "Loading…") }, createElement(Notes)),
);
const describe = (e) => e && { name: e.name, message: e.message, typed: ferrysync.isFerrysyncError(e, "StorageUnavailableError") };
console.log(JSON.stringify({ importMs, open: describe(openError), delete: describe(deleteError), html }));

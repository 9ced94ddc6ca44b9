// The page of every browser consumer: the notes app in the page (`window.consumer`), the same
// app in each worker the page starts (`window.workers[kind]`), and the page's notes listed in
// #notes. `window.consumerReady` settles once all of them are open.
import { notesApp } from "./notes.js";
import { connect } from "./rpc.js";

/** `workers`: `{ kind: () => Promise<Worker | ServiceWorker> }`. */
export function startPage(ferrysync, name, workers = {}) {
  const app = notesApp(ferrysync, name);
  window.consumer = app;
  window.workers = {};
  const started = Object.entries(workers).map(async ([kind, start]) => {
    const remote = connect(await start());
    window.workers[kind] = remote;
    await remote.ready();
  });
  window.showNotes = () => show(app);
  window.consumerReady = Promise.all([app.ready(), ...started]).then(() => show(app));
}

async function show(app) {
  const list = document.getElementById("notes");
  list.replaceChildren(
    ...(await app.list()).map((note) => {
      const item = document.createElement("li");
      item.textContent = note.title;
      item.dataset.id = note.id;
      return item;
    }),
  );
  document.body.dataset.ready = "yes";
}

// The harness of the React bindings test: components that use each hook inside a <Profiler>
// (which counts commits), what each hook returned at each render, and controls the test drives
// through `window.harness`.
import { open, preload } from "ferrysync";
import {
  FerrysyncProvider,
  useBlob,
  useConflicts,
  useDatabase,
  useLiveQuery,
  useOutbox,
  useRecord,
  useSpaceStatus,
  useSyncLog,
  useSyncStatus,
} from "ferrysync/react";
import { Component, Profiler, StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";

const commits = {};
const seen = {};
const record = (id, value) => (seen[id] ??= []).push(value);
const counted = (id, element) => (
  <Profiler id={id} onRender={() => (commits[id] = (commits[id] ?? 0) + 1)}>
    {element}
  </Profiler>
);

/** Notes with `at` ≥ 100, oldest first; the collection handle and the query are new objects on
 * every render. */
function List() {
  const rows = useLiveQuery(useDatabase().collection("notes"), { index: "at", range: { lower: 100 } });
  record("list", rows);
  return <p>{rows === undefined ? "loading" : rows.map((r) => r.title).join(", ")}</p>;
}

let rerender;
/** Re-renders on demand (`harness.rerender()`), re-rendering List with it. */
function Parent() {
  const [tick, setTick] = useState(0);
  rerender = () => setTick((n) => n + 1);
  return (
    <div data-tick={tick}>
      {counted("list", <List />)}
    </div>
  );
}

function OneRecord({ id }) {
  const note = useRecord(useDatabase().collection("notes"), id);
  record("record", note);
  return <p>{note === undefined ? "loading" : note === null ? "none" : note.title}</p>;
}

function Status() {
  const status = useSyncStatus();
  record("status", status);
  return <p>{status.pending} pending</p>;
}

function SpaceState({ space }) {
  const state = useSpaceStatus(space);
  record("space", state);
  return <p>{state === undefined ? "not synced" : state.ready ? "ready" : "pulling"}</p>;
}

function Conflicts() {
  const conflicts = useConflicts();
  record("conflicts", conflicts);
  return <p>{conflicts?.length ?? "…"} conflicts</p>;
}

function Outbox() {
  const outbox = useOutbox();
  record("outbox", outbox);
  return <p>{outbox?.length ?? "…"} queued</p>;
}

function SyncLog() {
  const log = useSyncLog();
  record("log", log);
  return <p>{log?.length ?? "…"} log entries</p>;
}

/** A note's file through useBlob: what it gave, as JSON (the Blob's size, or the error's name). */
function NoteFile({ id }) {
  const note = useRecord(useDatabase().collection("notes"), id);
  const { blob, error } = useBlob(note?.file);
  const file = note?.file;
  record("blob", { reference: typeof file?.$blob === "string", size: blob?.size ?? null, error: error?.name ?? null });
  return <p>{blob ? `${blob.size} bytes` : error ? error.name : "…"}</p>;
}

/** Records what its children threw. */
class Catch extends Component {
  state = { error: null };
  static getDerivedStateFromError(error) {
    return { error };
  }
  render() {
    if (this.state.error) record("caught", { name: this.state.error.name, message: this.state.error.message });
    return this.state.error ? <p>caught</p> : this.props.children;
  }
}

const views = {
  list: () => <Parent />,
  record: ({ id }) => counted("record", <OneRecord id={id} />),
  blob: ({ id }) => counted("blob", <NoteFile id={id} />),
  status: () => counted("status", <Status />),
  space: ({ space }) => counted("space", <SpaceState space={space} />),
  problems: () => (
    <>
      {counted("conflicts", <Conflicts />)}
      {counted("outbox", <Outbox />)}
    </>
  ),
  log: () => (
    <>
      {counted("log", <SyncLog />)}
      {counted("conflicts", <Conflicts />)}
    </>
  ),
};

const dbs = {};
let root;

window.harness = {
  preload: () => preload(),
  /** Opens database `name` (a fresh tenant), with `sync` options when given, the notes'
   * conflict strategy `conflicts` (manual when absent) and their `space` field (none when
   * absent). */
  async open(name, sync, conflicts, space) {
    dbs[name] = await open({
      app: "react-harness",
      tenant: name,
      version: 1,
      // Files come down on first read (useBlob), not with the sync.
      collections: {
        notes: {
          indexes: ["at"],
          blobs: ["file"],
          download: "lazy",
          ...(conflicts ? { conflicts } : {}),
          ...(space ? { space } : {}),
        },
      },
      ...(sync ? { sync: { url: location.origin, token: "dev-token", ...sync } } : {}),
    });
  },
  /** Renders `view` with database `name`, under StrictMode when `strict`. */
  mount(view, name, { strict = false, ...props } = {}) {
    root?.unmount();
    for (const key of Object.keys(commits)) delete commits[key];
    for (const key of Object.keys(seen)) delete seen[key];
    root = createRoot(document.getElementById("root"));
    const tree = <FerrysyncProvider db={dbs[name]}>{views[view](props)}</FerrysyncProvider>;
    root.render(strict ? <StrictMode>{tree}</StrictMode> : tree);
  },
  /** Renders List with no provider above it, inside an error boundary. */
  mountWithoutProvider() {
    root?.unmount();
    root = createRoot(document.getElementById("root"));
    root.render(
      <Catch>
        <List />
      </Catch>,
    );
  },
  unmount() {
    root?.unmount();
    root = undefined;
  },
  rerender: () => rerender(),
  commits: (id) => commits[id] ?? 0,
  /** What the hook of `id` returned: each value's JSON, and whether each value is the very
   * object of the render before. */
  seen: (id) => (seen[id] ?? []).map((v, i, all) => ({ value: v ?? null, sameAsBefore: i > 0 && v === all[i - 1] })),
  /** Whether the note "first" is the same object in the last two answers List rendered. */
  rowKeptIdentity() {
    const [before, after] = seen.list.slice(-2).map((rows) => rows.find((r) => r.title === "first"));
    return before !== undefined && before === after;
  },
  /** Creates a note holding a file of `text` in database `name`; its id. */
  async createWithFile(name, title, text) {
    return (await dbs[name].collection("notes").create({ title, at: 0, file: new Blob([text]) })).id;
  },
  /** Calls `collection.<method>(...args)` (or a database method) on database `name`. */
  notes: (name, method, ...args) => dbs[name].collection("notes")[method](...args),
  db: (name, method, ...args) => dbs[name][method](...args),
  /** Calls `db.spaces.<method>(...args)` on database `name`. */
  spaces: (name, method, ...args) => dbs[name].spaces[method](...args),
  /** Makes the write `collection.<method>(...args)` on database `name`, and resolves once live
   * queries have handled it: a live query of every note (which any write touches) has answered
   * after it. A query the write did not touch is not run again and calls no listener. */
  async afterWrite(name, method, ...args) {
    const store = dbs[name].collection("notes").live({});
    let answers = 0;
    let wake;
    const unsubscribe = store.subscribe(() => {
      answers++;
      wake?.();
    });
    const until = (n) => new Promise((resolve) => (answers >= n ? resolve() : (wake = () => answers >= n && resolve())));
    await until(1);
    const result = await dbs[name].collection("notes")[method](...args);
    await until(2);
    unsubscribe();
    // Let React act on the same notifications (it re-renders in a task of its own).
    await new Promise((resolve) => setTimeout(resolve, 50));
    return result;
  },
};
window.harnessReady = true;

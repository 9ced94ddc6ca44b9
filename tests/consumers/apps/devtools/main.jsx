// The harness of the devtools test: the panel mounted over a database of the page, under
// StrictMode, with the database from the provider or as a prop; the test drives it through
// `window.harness` and the panel's own buttons.
import { open } from "ferrysync";
import { FerrysyncDevtools } from "ferrysync/devtools";
import { FerrysyncProvider } from "ferrysync/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

const dbs = {};
let root;

window.harness = {
  /** Opens database `name` (a fresh tenant) syncing with this page's server only when told to
   * (syncNow, the panel's buttons), with the bearer `token`. */
  async open(name, { token = "dev-token" } = {}) {
    dbs[name] = await open({
      app: "devtools-harness",
      tenant: name,
      version: 1,
      collections: { notes: {} },
      sync: { url: location.origin, token, syncOnOpen: false, debounceMs: false, intervalMs: false },
    });
  },
  /** Renders the panel of database `name`: given as a prop when `viaProp`, else by a provider. */
  mount(name, { viaProp = false, initialOpen = true } = {}) {
    root?.unmount();
    root = createRoot(document.getElementById("root"));
    const panel = viaProp ? (
      <FerrysyncDevtools db={dbs[name]} initialOpen={initialOpen} position="inline" />
    ) : (
      <FerrysyncProvider db={dbs[name]}>
        <FerrysyncDevtools initialOpen={initialOpen} />
      </FerrysyncProvider>
    );
    root.render(<StrictMode>{panel}</StrictMode>);
  },
  unmount() {
    root?.unmount();
    root = undefined;
  },
  /** Calls `collection.<method>(...args)` (or a database method) on database `name`. */
  notes: (name, method, ...args) => dbs[name].collection("notes")[method](...args),
  db: (name, method, ...args) => dbs[name][method](...args),
};
window.harnessReady = true;

// An app that uses the React bindings and not the panel: its bundle must hold none of the panel.
import { FerrysyncProvider, useSyncStatus } from "ferrysync/react";

export function App({ db }) {
  return <FerrysyncProvider db={db}><Pending /></FerrysyncProvider>;
}

function Pending() {
  return <p>{useSyncStatus().pending} pending</p>;
}

// The same app with the panel beside it: what the panel adds to a bundle.
import { FerrysyncDevtools } from "ferrysync/devtools";
import { FerrysyncProvider, useSyncStatus } from "ferrysync/react";

export function App({ db }) {
  return (
    <FerrysyncProvider db={db}>
      <Pending />
      <FerrysyncDevtools />
    </FerrysyncProvider>
  );
}

function Pending() {
  return <p>{useSyncStatus().pending} pending</p>;
}

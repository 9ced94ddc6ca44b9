// Reads a ferrysync ExternalStore (statusStore(), live()) with React's useSyncExternalStore.
import { useSyncExternalStore } from "react";
import type { ExternalStore } from "ferrysync";

export function useExternalStore<S>(store: ExternalStore<S>): S {
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

// The `{ subscribe, getSnapshot }` stores the hooks hand to useSyncExternalStore. Each keeps its
// snapshot's identity until the value really changes, which is what spares React a render.
import type { ExternalStore, Unsubscribe } from "../index.js";
import { share } from "./share.js";

const UNSET: unique symbol = Symbol("unset");

/**
 * A view of `source` through `map` (identity when absent), structurally shared: while the
 * source answers with equal values, the snapshot is the same object. Computed when read, so
 * reading it twice without a change returns the same thing, as React requires.
 */
export function sharedStore<S, V>(source: ExternalStore<S>, map: (value: S) => V): ExternalStore<V> {
  let seen: S | typeof UNSET = UNSET;
  let shown: V | typeof UNSET = UNSET;
  return {
    subscribe: source.subscribe,
    getSnapshot() {
      const raw = source.getSnapshot();
      if (seen === UNSET || !Object.is(raw, seen)) {
        const next = map(raw);
        shown = shown === UNSET ? next : share(shown, next);
        seen = raw;
      }
      return shown as V;
    },
  };
}

/**
 * A store over an async read (the conflicts, the outbox): `undefined` until the first answer,
 * read again whenever `watch` signals a possible change, while anyone listens. Signals in one
 * task make one read, and an older read never replaces a newer one's answer.
 */
export function asyncStore<V>(
  read: () => Promise<V>,
  watch: (changed: () => void) => Unsubscribe,
): ExternalStore<V | undefined> {
  let value: V | undefined;
  const listeners = new Set<() => void>();
  let stopWatching: Unsubscribe | undefined;
  let generation = 0;
  let queued = false;

  const refresh = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      if (listeners.size === 0) return;
      const mine = ++generation;
      // Through then(), so that a read that throws is handled like one that rejects.
      Promise.resolve()
        .then(read)
        .then(
          (answer) => {
            if (mine !== generation) return;
            const next = value === undefined ? answer : share(value, answer);
            if (next === value) return;
            value = next;
            for (const listener of [...listeners]) listener();
          },
          (error: unknown) => {
            // A closed database keeps its last answer; anything else is worth a line.
            if ((error as { name?: unknown } | null)?.name !== "DatabaseClosedError") {
              console.error("ferrysync: a read behind a React hook failed", error);
            }
          },
        );
    });
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (listeners.size === 1) {
        stopWatching = watch(refresh);
        refresh();
      }
      return () => {
        if (!listeners.delete(listener) || listeners.size > 0) return;
        stopWatching?.();
        stopWatching = undefined;
        generation++;
      };
    },
    getSnapshot: () => value,
  };
}

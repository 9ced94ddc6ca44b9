// Reads the panel makes itself (metrics, storage, dead letters): the hooks of ferrysync/react
// cover the status, the outbox, the conflicts and the sync log, but these have no store to
// subscribe to, so they are read again when the status changes (a write, a sync step, a
// rejection all change it) and, for the metrics, on a timer.
import { useEffect, useState } from "react";
import type { Database } from "../index.js";

export interface Read<V> {
  /** The last answer; undefined until the first. */
  readonly value: V | undefined;
  /** Why the last read failed; undefined once one succeeds. */
  readonly error: unknown;
  /** Reads again now (after an action whose effect the status may not show). */
  readonly reload: () => void;
}

/** `read(db)`, again whenever `trigger` changes, every `everyMs` while mounted, and on
 * `reload()`. A read that lands after a newer one started is dropped, so an old answer never
 * replaces a fresh one. */
export function useRead<V>(db: Database, read: (db: Database) => Promise<V>, trigger: unknown, everyMs?: number): Read<V> {
  const [answer, setAnswer] = useState<{ value: V | undefined; error: unknown }>({ value: undefined, error: undefined });
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let current = true;
    Promise.resolve()
      .then(() => read(db))
      .then(
        (value) => current && setAnswer({ value, error: undefined }),
        (error: unknown) => current && setAnswer((last) => ({ value: last.value, error })),
      );
    return () => {
      current = false;
    };
  }, [db, read, trigger, tick]);

  useEffect(() => {
    if (everyMs === undefined) return;
    const timer = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);

  return { ...answer, reload: () => setTick((n) => n + 1) };
}

// Conflicts and rejected changes, each with the decisions ferrysync offers.
import { useEffect, useMemo, useState } from "react";
import type { Conflict, Database, DeadLetter } from "ferrysync";
import { useExternalStore } from "./useExternalStore";

export function Problems({ db, onError }: { db: Database; onError: (error: unknown) => void }) {
  const status = useExternalStore(useMemo(() => db.statusStore(), [db]));
  const [conflicts, setConflicts] = useState<Conflict[]>([]);
  const [failed, setFailed] = useState<DeadLetter[]>([]);

  // Reload the lists whenever their counts change.
  useEffect(() => {
    let live = true;
    Promise.all([db.conflicts(), db.failed()]).then(([c, f]) => {
      if (live) {
        setConflicts(c);
        setFailed(f);
      }
    }, onError);
    return () => {
      live = false;
    };
  }, [db, status.conflicts, status.failed, onError]);

  if (conflicts.length === 0 && failed.length === 0) return null;
  const run = (decision: Promise<void>) => decision.catch(onError);
  return (
    <section className="card problems" data-testid="problems">
      {conflicts.map((c) => (
        <div key={`c:${c.collection}/${c.id}`} className="problem" data-testid="conflict">
          <span>
            Changed here as <q>{String(c.local && "title" in c.local ? c.local.title : "(deleted)")}</q> and on the
            server as <q>{String(c.server.deleted ? "(deleted)" : c.server.data?.title)}</q>
          </span>
          <button type="button" data-testid="keep-local" onClick={() => run(db.resolveConflict(c.collection, c.id, "local"))}>
            Keep mine
          </button>
          <button type="button" data-testid="keep-server" onClick={() => run(db.resolveConflict(c.collection, c.id, "server"))}>
            Keep server's
          </button>
        </div>
      ))}
      {failed.map((f) => (
        <div key={`f:${f.collection}/${f.recordId}`} className="problem" data-testid="dead-letter">
          <span>
            Rejected by the server: {f.error.message} ({f.error.code})
          </span>
          <button type="button" onClick={() => run(db.retryFailed(f.collection, f.recordId))}>
            Retry
          </button>
          <button type="button" className="danger" onClick={() => run(db.discardFailed(f.collection, f.recordId))}>
            Discard
          </button>
        </div>
      ))}
    </section>
  );
}

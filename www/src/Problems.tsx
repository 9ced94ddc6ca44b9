// Conflicts and rejected changes, each with the decisions ferrysync offers.
import type { DeadLetter, OutboxEntry } from "ferrysync";
import { useConflicts, useOutbox } from "ferrysync/react";
import { useDemoDatabase } from "./useDemoDatabase";

/** A rejected change is an outbox entry held as "failed", with the server's error. */
function isDeadLetter<C extends string>(entry: OutboxEntry<C>): entry is DeadLetter<C> {
  return entry.hold === "failed";
}

export function Problems({ onError }: { onError: (error: unknown) => void }) {
  const db = useDemoDatabase();
  const conflicts = useConflicts(db) ?? [];
  const failed = (useOutbox(db) ?? []).filter(isDeadLetter);

  if (conflicts.length === 0 && failed.length === 0) return null;
  const run = (decision: Promise<void>) => decision.catch(onError);
  return (
    <section className="card problems" data-testid="problems">
      {conflicts.map((c) => (
        <div key={`c:${c.collection}/${c.id}`} className="problem" data-testid="conflict">
          <span>
            Changed here as <q>{c.local && "title" in c.local ? c.local.title : "(deleted)"}</q> and on the server
            as <q>{c.server.deleted ? "(deleted)" : c.server.data?.title}</q>
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

// Changes the server rejected, each with the decisions ferrysync offers. (Conflicts have their
// own panel, ConflictPanel.)
import type { DeadLetter, OutboxEntry } from "ferrysync";
import { useOutbox } from "ferrysync/react";
import { useDemoDatabase } from "./useDemoDatabase";

/** A rejected change is an outbox entry held as "failed", with the server's error. */
function isDeadLetter<C extends string>(entry: OutboxEntry<C>): entry is DeadLetter<C> {
  return entry.hold === "failed";
}

export function Problems({ onError }: { onError: (error: unknown) => void }) {
  const db = useDemoDatabase();
  const failed = (useOutbox(db) ?? []).filter(isDeadLetter);

  if (failed.length === 0) return null;
  const run = (decision: Promise<void>) => decision.catch(onError);
  return (
    <section className="card problems" data-testid="problems">
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

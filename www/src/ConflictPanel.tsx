// The conflicts no strategy settled: the same field of a task changed here and on the server.
import { useConflicts } from "ferrysync/react";
import { ConflictCard } from "./ConflictCard";
import { useDemoDatabase } from "./useDemoDatabase";

export function ConflictPanel({ onError }: { onError: (error: unknown) => void }) {
  const db = useDemoDatabase();
  const conflicts = useConflicts(db) ?? [];

  if (conflicts.length === 0) return null;
  return (
    <section className="card conflicts" data-testid="conflict-panel" aria-labelledby="conflicts-heading">
      <h2 id="conflicts-heading">Conflicts</h2>
      {conflicts.map((c) => (
        <ConflictCard key={`${c.collection}/${c.id}`} conflict={c} onError={onError} />
      ))}
    </section>
  );
}

// One conflict: what changed on each side, and the three ways to settle it.
import { useState } from "react";
import type { ConflictOf, Fields } from "ferrysync";
import type { Schema } from "./database";
import { DiffTable } from "./DiffTable";
import { titleOf } from "./fields";
import { MergeEditor } from "./MergeEditor";
import { useDemoDatabase } from "./useDemoDatabase";

interface Props {
  conflict: ConflictOf<Schema>;
  onError: (error: unknown) => void;
}

export function ConflictCard({ conflict, onError }: Props) {
  const db = useDemoDatabase();
  const [merging, setMerging] = useState(false);
  const [busy, setBusy] = useState(false);
  const { local, server } = conflict;
  const localDeleted = local === null || local._sync.deleted;
  const localFields = localDeleted ? null : (local as Fields);
  const title = titleOf(localFields, server.data, conflict.base) ?? conflict.id;
  // A merge needs a record on both sides; against a delete, one side is kept whole.
  const mergeable = !localDeleted && !server.deleted && server.data !== null;

  function resolve(keep: "local" | "server" | { merged: Fields }) {
    setBusy(true);
    db.resolveConflict(conflict.collection, conflict.id, keep)
      .catch(onError)
      .finally(() => setBusy(false));
  }

  const headingId = `conflict-${conflict.collection}-${conflict.id}`;
  return (
    <article className="conflict" data-testid="conflict" data-record-id={conflict.id} aria-labelledby={headingId}>
      <h3 id={headingId}>
        “{title}” was changed here and on the server
        {localDeleted && " (deleted here)"}
        {server.deleted && " (deleted on the server)"}
      </h3>
      <DiffTable diff={conflict.diff} caption={`Changes to “${title}” since you last synced`} />
      {merging && mergeable ? (
        <MergeEditor
          server={server.data as Fields}
          diff={conflict.diff}
          busy={busy}
          onMerge={(merged) => resolve({ merged })}
          onCancel={() => setMerging(false)}
        />
      ) : (
        <div className="actions">
          <button type="button" data-testid="keep-local" disabled={busy} onClick={() => resolve("local")}>
            Keep mine
          </button>
          <button type="button" data-testid="keep-server" disabled={busy} onClick={() => resolve("server")}>
            Use theirs
          </button>
          <button type="button" data-testid="merge" disabled={busy || !mergeable} onClick={() => setMerging(true)}>
            Merge…
          </button>
        </div>
      )}
    </article>
  );
}

// One entry of the sync log, in words, with its time.
import type { SyncLogEntry } from "ferrysync";
import { describeEntry } from "./logText";

export function LogEntryItem({ entry }: { entry: SyncLogEntry }) {
  const { headline, lost, rollback } = describeEntry(entry);
  const merged = entry.kept === "merged";
  return (
    <li
      className={rollback ? "log-entry rollback" : "log-entry"}
      data-testid="log-entry"
      data-kind={entry.kind}
      data-kept={entry.kept}
      data-by={entry.by}
      data-rollback={rollback}
    >
      <time dateTime={new Date(entry.at).toISOString()}>{new Date(entry.at).toLocaleTimeString()}</time>
      <div>
        <p data-testid="log-headline">{headline}</p>
        {lost.length > 0 && (
          <ul className="lost" data-testid="log-lost" aria-label={merged ? "Values that differed" : "What was lost"}>
            {lost.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        )}
      </div>
    </li>
  );
}

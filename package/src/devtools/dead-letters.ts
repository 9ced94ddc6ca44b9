// The changes the server refused for good (`db.failed()`), with its answer, and the two ways out
// that the API offers: send again as the record is now (`retryFailed`) or drop the change and the
// record's later ones (`discardFailed`).
import { useState, type ReactNode } from "react";
import type { Database, DeadLetter, SyncStatus } from "../index.js";
import { describeError, time } from "./format.js";
import { useRead } from "./read.js";
import { Button, Empty, More, Section, Table, h } from "./ui.js";

const SHOWN = 100;

const readFailed = (db: Database): Promise<DeadLetter[]> => db.failed();

export function DeadLettersSection({ db, status }: { db: Database; status: SyncStatus }): ReactNode {
  // A rejection, a retry and a discard each change `status.failed`.
  const { value: failed, error, reload } = useRead(db, readFailed, status);
  // The record being retried or discarded (its buttons wait), and the last decision's error.
  const [busy, setBusy] = useState<string | null>(null);
  const [decisionError, setDecisionError] = useState<string | null>(null);

  const decide = (entry: DeadLetter, how: "retry" | "discard") => {
    const key = `${entry.collection}/${entry.recordId}`;
    setBusy(key);
    setDecisionError(null);
    const decision = how === "retry" ? db.retryFailed(entry.collection, entry.recordId) : db.discardFailed(entry.collection, entry.recordId);
    decision
      .catch((e: unknown) => setDecisionError(`${how} ${key}: ${describeError(e)}`))
      .finally(() => {
        setBusy(null);
        reload();
      });
  };

  return h(
    Section,
    { name: "dead-letters", title: "Dead letters", count: failed?.length, alert: true },
    error === undefined ? null : h("p", { className: "fsd-bad" }, describeError(error)),
    decisionError === null ? null : h("p", { className: "fsd-bad" }, decisionError),
    failed === undefined
      ? h(Empty, null, "reading…")
      : failed.length === 0
        ? h(Empty, null, "none")
        : [
            h(Table, {
              key: "table",
              head: ["collection", "record", "op", "queued", "server's answer", ""],
              rows: failed.slice(0, SHOWN).map((entry) => {
                const key = `${entry.collection}/${entry.recordId}`;
                return h(
                  "tr",
                  { key: entry.seq, "data-record": entry.recordId },
                  h("td", null, entry.collection),
                  h("td", { className: "fsd-wrap" }, entry.recordId),
                  h("td", null, entry.op),
                  h("td", null, time(entry.queuedAt)),
                  h("td", { className: "fsd-bad fsd-text" }, `${entry.error.code}: ${entry.error.message}`),
                  h(
                    "td",
                    null,
                    h(Button, { onClick: () => decide(entry, "retry"), disabled: busy === key }, "retry"),
                    h(Button, { onClick: () => decide(entry, "discard"), disabled: busy === key, danger: true }, "discard"),
                  ),
                );
              }),
            }),
            h(More, { key: "more", shown: SHOWN, total: failed.length }),
          ],
  );
}

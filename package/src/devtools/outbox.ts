// The queued local changes (`db.outbox()` through useOutbox), oldest first: what the next push
// sends, how often each was sent without an answer that settled it, and which are held back by a
// conflict or a rejection.
import type { ReactNode } from "react";
import type { Database } from "../index.js";
import { useOutbox } from "../react.js";
import { time } from "./format.js";
import { Empty, More, Section, Table, h } from "./ui.js";

const SHOWN = 100;

export function OutboxSection({ db }: { db: Database }): ReactNode {
  const outbox = useOutbox(db);
  return h(
    Section,
    { name: "outbox", title: "Outbox", count: outbox?.length },
    outbox === undefined
      ? h(Empty, null, "reading…")
      : outbox.length === 0
        ? h(Empty, null, "nothing queued")
        : [
            h(Table, {
              key: "table",
              head: ["#", "collection", "record", "op", "queued", "attempts", "held"],
              rows: outbox.slice(0, SHOWN).map((entry) =>
                h(
                  "tr",
                  { key: entry.seq, "data-record": entry.recordId },
                  h("td", null, entry.seq),
                  h("td", null, entry.collection),
                  h("td", { className: "fsd-wrap" }, entry.recordId),
                  h("td", null, entry.op),
                  h("td", null, time(entry.queuedAt)),
                  h("td", null, entry.attempts),
                  h("td", { className: entry.hold ? "fsd-bad" : undefined }, entry.hold ?? "–"),
                ),
              ),
            }),
            h(More, { key: "more", shown: SHOWN, total: outbox.length }),
          ],
  );
}

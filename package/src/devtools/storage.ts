// `db.storage()`: what the origin uses of its quota, and whether the browser may evict it; the
// button asks for persistence (`db.persist()`), which the browser may grant, refuse or ask the
// user about.
import { useState, type ReactNode } from "react";
import type { Database, StorageInfo, SyncStatus } from "../index.js";
import { bytes, describeError } from "./format.js";
import { useRead } from "./read.js";
import { Button, Empty, Fields, Section, h } from "./ui.js";

const readStorage = (db: Database): Promise<StorageInfo> => db.storage();

export function StorageSection({ db, status }: { db: Database; status: SyncStatus }): ReactNode {
  // Usage grows with writes, which change the status.
  const { value: info, error, reload } = useRead(db, readStorage, status);
  const [asked, setAsked] = useState<{ running: boolean; answer?: string }>({ running: false });

  const persist = () => {
    setAsked({ running: true });
    db.persist().then(
      (granted) => setAsked({ running: false, answer: granted ? "persistent now" : "the browser said no (for now)" }),
      (e: unknown) => setAsked({ running: false, answer: describeError(e) }),
    ).finally(reload);
  };

  const share = info?.usage != null && info.quota ? ` (${((info.usage / info.quota) * 100).toFixed(2)} %)` : "";
  return h(
    Section,
    { name: "storage", title: "Storage" },
    error === undefined ? null : h("p", { className: "fsd-bad" }, describeError(error)),
    info === undefined
      ? h(Empty, null, "reading…")
      : h(Fields, {
          rows: [
            ["usage", "usage", `${bytes(info.usage)}${share}`],
            ["quota", "quota", bytes(info.quota)],
            [
              "persisted",
              "persisted",
              info.persisted === null ? "unknown" : info.persisted ? h("span", { className: "fsd-ok" }, "yes") : "no: the browser may evict it",
            ],
          ],
        }),
    h(Button, { onClick: persist, disabled: asked.running || info?.persisted === true }, "Request persistence"),
    asked.answer === undefined ? null : h("span", { className: "fsd-result", "data-field": "persist" }, asked.answer),
  );
}

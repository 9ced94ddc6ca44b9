// `db.metrics()`: what this tab's syncs did since it opened the database. The metrics have no
// store to subscribe to, so they are read when the status changes and every few seconds (the
// ages in them grow with no event at all).
import type { ReactNode } from "react";
import type { Database, SyncMetrics, SyncStatus } from "../index.js";
import { bytes, describeError, duration, time } from "./format.js";
import { useRead } from "./read.js";
import { Empty, Fields, Section, h } from "./ui.js";

const REFRESH_MS = 3000;

const readMetrics = (db: Database): Promise<SyncMetrics> => db.metrics();

export function MetricsSection({ db, status }: { db: Database; status: SyncStatus }): ReactNode {
  const { value: m, error } = useRead(db, readMetrics, status, REFRESH_MS);
  const failures = m === undefined ? "" : Object.entries(m.failures).map(([name, n]) => `${name} × ${n}`).join(", ");
  return h(
    Section,
    { name: "metrics", title: "Metrics" },
    error === undefined ? null : h("p", { className: "fsd-bad" }, describeError(error)),
    m === undefined
      ? h(Empty, null, "reading…")
      : h(Fields, {
          rows: [
            ["syncs", "syncs", `${m.syncs} ok, ${m.failedSyncs} failed`],
            ["failures", "failures", failures || "none"],
            ["requests", "requests", `${m.pushes} pushes, ${m.pulls} pulls, ${m.retries} retried`],
            ["changesSent", "changes sent", m.changesSent],
            ["recordsReceived", "records received", m.recordsReceived],
            ["bytes", "bytes", `${bytes(m.bytesSent)} sent, ${bytes(m.bytesReceived)} received`],
            ["lastSuccessAt", "last success", `${time(m.lastSuccessAt)} (took ${duration(m.lastSyncMs)})`],
            ["lastFailureAt", "last failure", time(m.lastFailureAt)],
            ["roundTrips", "last round trips", `push ${duration(m.lastPushMs)}, pull ${duration(m.lastPullMs)}`],
            ["oldestPendingAgeMs", "oldest unsent", m.oldestPendingAgeMs === null ? "nothing queued" : `${duration(m.oldestPendingAgeMs)} old`],
            ["wasmMemoryBytes", "wasm memory", bytes(m.wasmMemoryBytes)],
          ],
        }),
  );
}

// The bytes of a task's attachment: at once when the record holds the Blob; for a reference (a
// task from another device), read from this device or downloaded with `db.blob`; one that could
// not be had is asked for again when the connection comes back and after each sync (which may
// have downloaded it).
import { useEffect, useState } from "react";
import { useSyncStatus } from "ferrysync/react";
import { isBlobRef, type Attachment } from "./attachments";
import { readBlob } from "./fileStatus";
import { useDemoDatabase } from "./useDemoDatabase";

export type AttachmentFile =
  | { state: "ready"; blob: Blob }
  | { state: "loading" }
  /** Not on this device, and the server is out of reach. */
  | { state: "not-downloaded" }
  | { state: "failed"; message: string };

const LOADING: AttachmentFile = { state: "loading" };

export function useAttachmentFile(attachment: Attachment): AttachmentFile {
  const db = useDemoDatabase();
  const { online, lastSyncAt } = useSyncStatus();
  const hash = isBlobRef(attachment) ? attachment.$blob : null;
  /** The answer for `hash`: kept with its hash, so that a row whose file changed never shows the
   * old one's. */
  const [fetched, setFetched] = useState<{ hash: string; file: AttachmentFile } | null>(null);
  const answered = fetched !== null && fetched.hash === hash;
  const settled = answered && fetched.file.state === "ready";
  /** Changes, while the file could not be had, when the connection comes back or a sync ends
   * (which may have downloaded it): each change asks again. Null while a request runs. */
  const retry = answered && !settled ? `${online}:${lastSyncAt}` : null;

  useEffect(() => {
    if (hash === null || !isBlobRef(attachment) || settled) return;
    let current = true;
    readBlob(db, attachment).then(
      (blob) => current && setFetched({ hash, file: { state: "ready", blob } }),
      (error: unknown) => {
        if (!current) return;
        const name = error instanceof Error ? error.name : "";
        const file: AttachmentFile =
          name === "BlobNotDownloadedError" ? { state: "not-downloaded" } : { state: "failed", message: String(error) };
        setFetched({ hash, file });
      },
    );
    return () => {
      current = false;
    };
    // `attachment` is a new object on every read of the record: `hash` says all that matters.
  }, [db, hash, retry, settled]);

  if (!isBlobRef(attachment)) return { state: "ready", blob: attachment };
  return fetched !== null && fetched.hash === hash ? fetched.file : LOADING;
}

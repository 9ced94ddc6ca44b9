// A task's file, under its title: an image shown as such, any other file as a link that saves it
// under its name, with its size; while the file is not on this device, what keeps it away. The
// row's buttons for the file (`children`) follow it.
import type { ReactNode } from "react";
import { useBlob } from "ferrysync/react";
import { formatBytes, isBlobRef, isImage, type Attachment } from "./attachments";
import { useObjectUrl } from "./useObjectUrl";

interface Props {
  attachment: Attachment;
  /** The file's name when it was attached (a reference carries only size and type). */
  name: string;
  /** The task has changes the server does not have yet: a file of this device's goes up first. */
  waitingToUpload: boolean;
  children?: ReactNode;
}

export function TaskAttachment({ attachment, name, waitingToUpload, children }: Props) {
  // A reference (a task from another device) is read here or downloaded; offline, that fails
  // with BlobNotDownloadedError and is tried again once the device is back online.
  const { blob, error } = useBlob(attachment);
  const url = useObjectUrl(blob ?? null);
  const state = blob ? "ready" : !error ? "loading" : error.name === "BlobNotDownloadedError" ? "not-downloaded" : "failed";
  const label = `${name} (${formatBytes(attachment.size)})`;

  return (
    <div className="attachment" data-testid="task-attachment" data-state={state}>
      {blob && url !== null && (
        <>
          {isImage(blob.type) && <img data-testid="task-image" src={url} alt={name} />}
          <a data-testid="task-file" href={url} download={name}>
            {label}
          </a>
          {waitingToUpload && !isBlobRef(attachment) && (
            <span
              className="badge pending"
              data-testid="task-file-pending"
              title="The file goes to the server before the task's change, unless the server has it already."
            >
              file pending
            </span>
          )}
        </>
      )}
      {state === "loading" && <span className="hint">{label}: downloading…</span>}
      {state === "not-downloaded" && (
        <span className="hint" data-testid="task-file-missing">
          {label} is not on this device yet, and the server is out of reach: it downloads once you are online.
        </span>
      )}
      {state === "failed" && (
        <span className="hint" data-testid="task-file-failed" title={error?.name}>
          {label} could not be read: {error?.message}
        </span>
      )}
      <span className="attachment-actions">{children}</span>
    </div>
  );
}

// A task's file, under its title: an image shown as such, any other file as a link that saves it
// under its name, with its size; while the file is not on this device, what keeps it away. The
// row's buttons for the file (`children`) follow it.
import type { ReactNode } from "react";
import { formatBytes, isBlobRef, isImage, type Attachment } from "./attachments";
import { useAttachmentFile } from "./useAttachmentFile";
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
  const file = useAttachmentFile(attachment);
  const url = useObjectUrl(file.state === "ready" ? file.blob : null);
  const label = `${name} (${formatBytes(attachment.size)})`;

  return (
    <div className="attachment" data-testid="task-attachment" data-state={file.state}>
      {file.state === "ready" && url !== null && (
        <>
          {isImage(file.blob.type) && <img data-testid="task-image" src={url} alt={name} />}
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
      {file.state === "loading" && <span className="hint">{label}: downloading…</span>}
      {file.state === "not-downloaded" && (
        <span className="hint" data-testid="task-file-missing">
          {label} is not on this device yet, and the server is out of reach: it downloads once you are online.
        </span>
      )}
      {file.state === "failed" && (
        <span className="hint" data-testid="task-file-failed" title={file.message}>
          {label} could not be read: {file.message}
        </span>
      )}
      <span className="attachment-actions">{children}</span>
    </div>
  );
}

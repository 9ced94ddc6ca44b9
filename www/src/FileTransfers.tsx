// The status bar's file figures: the file going up or down in the sync under way (bytes done of
// total), else the bytes of files still waiting to go up or come down, so that a file attached
// offline, or left half sent by a reload, shows as pending.
import type { SyncStatus } from "ferrysync";
import { formatBytes } from "./attachments";

/** One file going up or down: its hash, and bytes done of total. */
type Transfer = NonNullable<SyncStatus["upload"]>;

export function FileTransfers({ status }: { status: SyncStatus }) {
  const { download, blobBytes: waiting } = status;
  return (
    <>
      {status.upload !== null ? (
        <TransferProgress transfer={status.upload} verb="uploading" testId="upload-progress" />
      ) : (
        waiting.toUpload > 0 && (
          <span data-testid="files-to-upload">
            files to upload <strong>{formatBytes(waiting.toUpload)}</strong>
          </span>
        )
      )}
      {download !== null ? (
        <TransferProgress transfer={download} verb="downloading" testId="download-progress" />
      ) : (
        waiting.toDownload > 0 && (
          <span data-testid="files-to-download">
            files to download <strong>{formatBytes(waiting.toDownload)}</strong>
          </span>
        )
      )}
    </>
  );
}

function TransferProgress({ transfer, verb, testId }: { transfer: Transfer; verb: string; testId: string }) {
  return (
    <span data-testid={testId} data-done={transfer.done} data-total={transfer.total} title={`file ${transfer.blob}`}>
      {verb} file{" "}
      <strong>
        {formatBytes(transfer.done)} / {formatBytes(transfer.total)}
      </strong>{" "}
      <progress value={transfer.done} max={Math.max(transfer.total, 1)} />
    </span>
  );
}

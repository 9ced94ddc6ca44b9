// The parts of ferrysync's file download that the demo reads: `db.blob(ref)`, the `BlobRef`
// type, and the status's download figures. They are typed here, from the package's documented
// contract, so that the demo also builds against a package whose typings predate them; the
// status fields then read as absent and `db.blob` as missing.
import type { SyncStatus } from "ferrysync";
import type { DemoDatabase } from "./database";

/** What a blob field holds for a file that is not on this device. */
export interface BlobRef {
  readonly $blob: string;
  readonly size: number;
  readonly type: string;
}

/** One file going up or down: its hash, and bytes done out of total. */
export interface Transfer {
  readonly blob: string;
  readonly done: number;
  readonly total: number;
}

/** Bytes of files: stored on this device, still to upload, still to download. */
export interface BlobBytes {
  readonly stored: number;
  readonly toUpload: number;
  readonly toDownload: number;
}

interface FileFigures {
  readonly download?: Transfer | null;
  readonly blobBytes?: BlobBytes;
}

export function downloadOf(status: SyncStatus): Transfer | null {
  return (status as SyncStatus & FileFigures).download ?? null;
}

export function blobBytesOf(status: SyncStatus): BlobBytes | null {
  return (status as SyncStatus & FileFigures).blobBytes ?? null;
}

type BlobReader = (value: Blob | BlobRef) => Promise<Blob>;

/** `db.blob`: the file behind a reference, read here or downloaded (then kept here). */
export function readBlob(db: DemoDatabase, ref: BlobRef): Promise<Blob> {
  const blob = (db as DemoDatabase & { blob?: BlobReader }).blob;
  if (typeof blob !== "function") {
    const missing = new Error("this version of ferrysync cannot download files");
    missing.name = "BlobNotDownloadedError";
    return Promise.reject(missing);
  }
  return blob.call(db, ref);
}

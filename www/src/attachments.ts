// A task's attached file, as the tasks collection holds it in its blob field (`attachment`): a
// `Blob` when the bytes are on this device, else the server's reference to them.
import type { BlobRef } from "ferrysync";

export type Attachment = Blob | BlobRef;

/** A reference read from a record pulled from another device whose file is not here yet. */
export function isBlobRef(value: Attachment): value is BlobRef {
  return !(value instanceof Blob) && typeof (value as Partial<BlobRef>).$blob === "string";
}

/** Images are shown; other files are offered as a link. */
export function isImage(type: string): boolean {
  return type.startsWith("image/");
}

/** A byte count as people read it: 512 B, 14.2 KB, 3.0 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

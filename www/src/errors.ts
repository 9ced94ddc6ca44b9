// Turns a rejection into something to show, keyed by the error's `name`.
import { isFerrysyncError, type FerrysyncErrorName } from "ferrysync";

export interface ShownError {
  name: string;
  message: string;
  hint: string | null;
}

const hints: Record<FerrysyncErrorName, string> = {
  UnknownCollectionError: "The app asked for a collection that is not in the schema.",
  UnknownIndexError: "The app queried an index that is not declared.",
  RecordNotFoundError: "That task no longer exists.",
  RecordExistsError: "A task with this id already exists.",
  InvalidRecordError: "The task could not be stored as given.",
  ReservedFieldError: "A field name reserved by ferrysync was used.",
  InvalidQueryError: "The query is not valid.",
  InvalidOptionsError: "The database options are not valid.",
  QuotaExceededError: "The browser refused to store more data.",
  StorageUnavailableError: "This browser offers no IndexedDB here (private mode?).",
  UpgradeBlockedError: "Another tab keeps an older version open; close it and reload.",
  DatabaseClosedError: "The database was closed; reload the page.",
  MigrationError: "A data migration failed.",
  NetworkError: "The sync server is out of reach; changes stay queued and sync later.",
  SyncError: "The sync server refused the request.",
  StorageError: "The browser's storage reported an error.",
  PendingChangesError: "Changes that never reached the server would be lost; sync them or discard them first.",
  SpaceRemovedError: "That project was turned off on this device before its first pull was done.",
  BlobNotDownloadedError: "The file is not on this device and could not be downloaded (offline, or the server does not have it).",
};

export function toShownError(error: unknown): ShownError {
  if (isFerrysyncError(error)) {
    return { name: error.name, message: error.message, hint: hints[error.name] };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, hint: null };
  return { name: "Error", message: String(error), hint: null };
}

// The JS side of blobs in records: finding `Blob`s in a record's declared blob fields (and
// references where they were), reading a blob in chunks, and the rows of `_blobs`. A `Blob` is
// recognised by its tag, not `instanceof`, so that one from another realm (an iframe, a worker's
// postMessage) counts too.

/** Whether a value is a Blob (a File is one), from any realm. */
export function isBlob(value) {
  const tag = Object.prototype.toString.call(value);
  return tag === "[object Blob]" || tag === "[object File]";
}

function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A copy of `data` whose declared blob `fields` hold references instead of Blobs, and the Blobs
 * found with the reference object that stands for each (its `$blob` is filled in once hashed);
 * undefined when there are none. `misplaced` is the name of a field outside `fields` that holds
 * a Blob at its top, which is refused: it would be stored but never synced. */
export function takeBlobs(data, fields) {
  if (!isPlainObject(data)) return undefined;
  const found = [];
  const walk = (value) => {
    if (isBlob(value)) {
      const ref = { $blob: "", size: value.size, type: value.type || "" };
      found.push([value, ref]);
      return ref;
    }
    if (Array.isArray(value)) return value.map(walk);
    if (isPlainObject(value)) {
      const copy = {};
      for (const key of Object.keys(value)) copy[key] = walk(value[key]);
      return copy;
    }
    return value;
  };
  let out = data;
  for (const key of Object.keys(data)) {
    if (fields.includes(key)) {
      const value = data[key];
      if (value === null || typeof value !== "object") continue;
      const before = found.length;
      const walked = walk(value);
      if (found.length > before) {
        if (out === data) out = Object.assign({}, data);
        out[key] = walked;
      }
    } else if (isBlob(data[key])) {
      return { misplaced: key };
    }
  }
  return found.length ? { data: out, found } : undefined;
}

/** Bytes `start .. end` of a blob. */
export function blobChunk(blob, start, end) {
  return blob.slice(start, end).arrayBuffer();
}

/** A part of a blob, as a request body. */
export function blobSlice(blob, start, end) {
  return blob.slice(start, end);
}

/** A `_blobs` row: the blob stored here, not uploaded yet (`upload` is indexed). On an engine
 * that cannot store a Blob in IndexedDB, `blob` is undefined and `parts` holds its bytes (the
 * ArrayBuffers read while hashing). */
export function makeBlobRow(hash, blob, parts, size, type, now) {
  const row = { hash, size, type, upload: "no", usedAt: now };
  if (parts) row.parts = parts;
  else row.blob = blob;
  return row;
}

/** The Blob a `_blobs` row holds (rebuilt from its parts where the engine stores no Blobs), or
 * undefined for a row without its bytes. */
export function blobOfRow(row) {
  if (!row) return undefined;
  if (row.blob) return row.blob;
  return row.parts ? new Blob(row.parts, { type: row.type || "" }) : undefined;
}

/** Whether this engine stores Blobs in IndexedDB: a tiny Blob is put into `store` in a
 * transaction that is then aborted, so nothing stays. Some engines cannot (WebKit's ephemeral
 * sessions, Safari's private browsing): the put fails, or does not settle within `timeoutMs`. */
export function probeBlobStorage(db, store, timeoutMs) {
  return new Promise((resolve) => {
    let tx;
    let settled = false;
    const done = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        tx.abort();
      } catch {
        // Finished already.
      }
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    try {
      tx = db.transaction(store, "readwrite");
      tx.onabort = () => done(false);
      const request = tx.objectStore(store).put({ hash: "\u0000probe", blob: new Blob(["x"]) });
      request.onsuccess = () => done(true);
      request.onerror = (event) => {
        event.preventDefault();
        done(false);
      };
    } catch {
      done(false);
    }
  });
}

/** The hashes of the references in a record's declared blob `fields`, each once. */
export function refsIn(record, fields) {
  const hashes = [];
  const walk = (value) => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!isPlainObject(value)) return;
    if (typeof value.$blob === "string") {
      if (!hashes.includes(value.$blob)) hashes.push(value.$blob);
      return;
    }
    for (const key of Object.keys(value)) walk(value[key]);
  };
  if (isPlainObject(record)) for (const f of fields) walk(record[f]);
  return hashes;
}

/** A copy of `record` whose references in `fields` are the Blobs `rows` (a Map of hash to
 * `_blobs` row) hold here; a reference to a blob not here stays as it is. */
export function withBlobs(record, fields, rows) {
  const walk = (value) => {
    if (Array.isArray(value)) return value.map(walk);
    if (!isPlainObject(value)) return value;
    if (typeof value.$blob === "string") return blobOfRow(rows.get(value.$blob)) || value;
    const copy = {};
    for (const key of Object.keys(value)) copy[key] = walk(value[key]);
    return copy;
  };
  if (!isPlainObject(record)) return record;
  const out = Object.assign({}, record);
  for (const f of fields) if (Object.prototype.hasOwnProperty.call(record, f)) out[f] = walk(record[f]);
  return out;
}

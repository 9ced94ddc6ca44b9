// The page's entry: exposes `window.runBenchmarks(options)`, which resolves to the JSON result.
import { makeRecords } from "./records.js";
import { runBenchmarks } from "./workload.js";
import { runSyncBenchmark } from "./sync.js";
import { runSpaceBenchmark } from "./space.js";
import { runInitialBenchmark } from "./initial.js";
import { runFileBenchmark } from "./files.js";
import { runLiveBenchmark } from "./live.js";
import ferrysync from "./contenders/ferrysync.js";
import dexie from "./contenders/dexie.js";
import raw, { rawMin } from "./contenders/raw.js";

const CONTENDERS = [ferrysync, dexie, raw, rawMin];

window.runBenchmarks = (options = {}) => runBenchmarks(CONTENDERS, options);
window.runLiveBenchmark = runLiveBenchmark;
// Needs the page to be served by a reference sync server (bench/sync.mjs does that).
window.runSyncBenchmark = runSyncBenchmark;
window.runSpaceBenchmark = runSpaceBenchmark;
window.runInitialBenchmark = runInitialBenchmark;
window.runFileBenchmark = runFileBenchmark;
// The pieces, for timing or profiling one operation by hand (DevTools, a script).
window.benchmarkParts = { contenders: CONTENDERS, makeRecords };

const status = document.getElementById("status");
if (status) status.textContent = "ready: call runBenchmarks({ records, reps })";

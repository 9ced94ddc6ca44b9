// The page's entry: exposes `window.runBenchmarks(options)`, which resolves to the JSON result.
import { runBenchmarks } from "./workload.js";
import ferrysync from "./contenders/ferrysync.js";
import dexie from "./contenders/dexie.js";
import raw from "./contenders/raw.js";

const CONTENDERS = [ferrysync, dexie, raw];

window.runBenchmarks = (options = {}) => runBenchmarks(CONTENDERS, options);

const status = document.getElementById("status");
if (status) status.textContent = "ready: call runBenchmarks({ records, reps })";

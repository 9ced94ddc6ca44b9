// No bundler: the files as installed, a module worker and a module service worker.
import * as ferrysync from "ferrysync";
import { startPage } from "./page.js";

startPage(ferrysync, "plain", {
  worker: async () => new Worker("./worker.js", { type: "module" }),
  serviceWorker: async () => {
    await navigator.serviceWorker.register("./sw.js", { type: "module" });
    return (await navigator.serviceWorker.ready).active;
  },
});

// A Vite app: the package imported by name, and a module worker started the way Vite documents.
import * as ferrysync from "ferrysync";
import { startPage } from "./page.js";

startPage(ferrysync, "vite", {
  worker: async () => new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "vite" }),
});

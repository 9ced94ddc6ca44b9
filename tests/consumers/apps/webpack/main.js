// A webpack 5 app: the package imported by name, and a module worker started the way webpack
// documents.
import * as ferrysync from "ferrysync";
import { startPage } from "./page.js";

startPage(ferrysync, "webpack", {
  worker: async () => new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "webpack" }),
});

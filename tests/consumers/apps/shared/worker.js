// The notes app in a module worker, bundled by the app's bundler; the page names the worker.
import * as ferrysync from "ferrysync";
import { notesApp } from "./notes.js";
import { serve } from "./rpc.js";

serve(self, notesApp(ferrysync, `${self.name}-worker`));

// The notes app in a module worker with no bundler. Import maps do not reach workers, so the
// package's entry is imported by its path.
import * as ferrysync from "./node_modules/ferrysync/ferrysync.js";
import { notesApp } from "./notes.js";
import { serve } from "./rpc.js";

serve(self, notesApp(ferrysync, "plain-worker"));

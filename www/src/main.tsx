// Entry point: mounts the demo app, and registers its service worker (sw.ts), which sends what
// the page queued after the page has closed.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";

const container = document.getElementById("root");
if (!container) throw new Error("index.html has no #root element");

createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

// A browser that refuses service workers (some private windows, a policy) runs the demo
// without one: changes then wait for a page of the demo to be open online.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch((error: unknown) => {
    console.warn("ferrysync demo: no service worker, so no sync with the page closed:", error);
  });
}

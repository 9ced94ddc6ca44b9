// How every Node-driven browser run here starts Chromium: Debian's build (or $CHROMIUM_PATH),
// headless, and with the background networking that a closed network refuses switched off.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Nothing for ferrysync: the defaults serve and build it. The dev server forwards the sync
// protocol to the reference server the test started (the built app is served by that server).
export default {
  server: {
    proxy: process.env.FERRYSYNC_SYNC_URL ? { "/v1": process.env.FERRYSYNC_SYNC_URL } : {},
  },
};

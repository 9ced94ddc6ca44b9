// Builds dev-only.html alone, into dist-dev-only.
export default { build: { outDir: "dist-dev-only", rollupOptions: { input: "dev-only.html" } } };

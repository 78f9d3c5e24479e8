// Vite's defaults, but for where the page is served (/vite/) and built.
export default {
  base: "./",
  build: { outDir: "dist/vite", emptyOutDir: true },
  logLevel: "warn",
};

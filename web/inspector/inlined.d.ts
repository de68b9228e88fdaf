// Files the bundler inlines as bytes (scripts/build-web.mjs, esbuild's binary loader).
declare module '*.wasm' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
declare module '*.o' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
/** The inspector worker's bundled code, made a Blob by the page (scripts/build-web.mjs defines it). */
declare const INSPECTOR_WORKER_SOURCE: string;

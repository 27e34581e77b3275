// The function library's source, embedded in the bundle as text (esbuild's
// text loader, scripts/bundle.mjs).
declare module '*.lua' {
  const source: string;
  export default source;
}

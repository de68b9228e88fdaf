// The Buffer that the core's record decoders (src/core/*-record.ts) read strings with, in the
// browser: the `buffer` package, injected by the bundler where the code names Buffer.
export { Buffer } from 'buffer';

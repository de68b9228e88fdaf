// The one test TypeScript makes of a file's bytes before handing them to the core: do its first
// `length` bytes start with the ELF magic (\x7fELF)? Everything else about ELF is the core's.
export function startsElf(bytes: Uint8Array, length = bytes.length): boolean {
  return length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

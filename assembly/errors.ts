// Expected failures are values (STYLE.md): the first check that fails records one message and the
// file offset it points at, and every caller returns false up the chain. AssemblyScript has no
// exceptions, and a trap would kill the worker's instance, so nothing in the core aborts on input.

let message: string = '';
let offset: u64 = 0;
let failed: bool = false;

export function resetError(): void {
  message = '';
  offset = 0;
  failed = false;
}

/** Records the failure (the first one wins) and returns false, so callers can `return fail(...)`. */
export function fail(text: string, at: u64): bool {
  if (!failed) {
    message = text;
    offset = at;
    failed = true;
  }
  return false;
}

export function hasFailed(): bool {
  return failed;
}

export function errorMessage(): string {
  return message;
}

export function errorOffset(): u64 {
  return offset;
}

/**
 * Ends a tentative check: returns the message it recorded (or '' when it passed) and forgets it,
 * so a scan can report why binding would refuse a file without failing the scan itself.
 */
export function takeError(): string {
  const text = failed ? message : '';
  resetError();
  return text;
}

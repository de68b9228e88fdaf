// The ways a run can fail, in one place; the CLI maps each to an exit status (src/cli/exit.ts).
// Per-file failures are not errors: they are values in the report (a refusal, an unreadable
// file), and only bugs throw anything else.

/** The command line asked for something the tool cannot do (exit 2): nothing was read or written. */
export class UsageError extends Error {}

/**
 * The run could not be done as a whole, for a reason its message names (an output that cannot be
 * written, a tool that failed, a refused image): reported as such, exit 1, and nothing half-written
 * is left. Anything thrown that is neither this, a UsageError nor a failed system call is a bug.
 */
export class RunError extends Error {}

/** An image refused as a whole (a hostile entry, a corrupt archive): nothing was written. */
export class ImageError extends RunError {}

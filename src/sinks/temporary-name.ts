// The names rewrites give their temporary files, as a scan recognises them. A module of its own so
// that a scan, which only reads, loads none of the writers (and their child_process).

/**
 * Temporary names: `.<name>.syslayer-<pid>-<n|link|journal|stage>`; a later run removes leftovers
 * (a `stage` directory with everything in it).
 */
export const TEMPORARY_NAME = /^\..+\.syslayer-\d+-(\d+|link|journal|stage)$/;

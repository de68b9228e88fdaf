// The names rewrites give their temporary files, as a scan recognises them. A module of its own so
// that a scan, which only reads, loads none of the writers (and their child_process).

/**
 * Temporary names: `.<name>.syslayer-<pid>-<n|link|journal|stage>`; a later run removes leftovers
 * (a `stage` directory with everything in it).
 */
export const TEMPORARY_NAME = /^\..+\.syslayer-\d+-(\d+|link|journal|stage)$/;

/** Whether a file name is a temporary one. They all start with a dot: most need no regular expression. */
export const isTemporaryName = (name: string) => name.charCodeAt(0) === 0x2e && TEMPORARY_NAME.test(name);

/** isTemporaryName of a path's last name, cut out only when it starts with a dot. */
export const isTemporaryPath = (path: string) => {
  const at = path.lastIndexOf('/') + 1;
  return path.charCodeAt(at) === 0x2e && TEMPORARY_NAME.test(path.slice(at));
};

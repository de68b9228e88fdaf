// The files syslayer keeps in a directory image it binds (docs/living-images.md): its lock, its
// state and the integrity manifests, in var/lib/syslayer/. They are syslayer's, not the image's:
// a walk of the image leaves them out (a scan does not count them, a bind neither reads nor
// copies them), as it leaves out a rewrite's temporary files. A module of its own, like
// temporary-name.ts, so that a scan loads nothing else of the living-image code.

/** Where they are, relative to the image root. */
export const OWN_DIRECTORY = 'var/lib/syslayer';

export const OWN_FILES: readonly string[] = ['lock', 'state.json', 'bound.mtree', 'originals.mtree'].map((n) => `${OWN_DIRECTORY}/${n}`);

export const isOwnFile = (path: string) => OWN_FILES.includes(path);

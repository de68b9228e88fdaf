// Paths of an image that the pipeline reads before anything else: its own layer objects and the
// ld.so.conf files its closures are resolved with.
export const IMAGE_LAYERS = 'usr/lib/syslayer/layers/';

export const isLdSoConf = (path: string) => path === 'etc/ld.so.conf' || path.startsWith('etc/ld.so.conf.d/');

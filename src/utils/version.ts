// The package version, in one place (the banner, events' sw_ver, the CLI).
/** celeriac's version (semver), shown in the banner and sent as sw_ver in worker events. */
export const VERSION = '0.1.0';

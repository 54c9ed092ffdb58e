// The package version, in one place (the banner, events' sw_ver, the CLI).
export const VERSION = '0.1.0';

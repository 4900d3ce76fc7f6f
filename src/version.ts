/** The program's version, put in by the bundler (build.mjs) from package.json. */
declare const XYN_VERSION: string | undefined;
export const version: string = typeof XYN_VERSION === 'string' ? XYN_VERSION : '0.0.0-dev';

/** The settings file's format version (migrations bring older files up to it). Its own file: `require('oxymail')` exports it without loading the store. */
export const STORE_VERSION = 1;

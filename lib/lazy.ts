/**
 * Dependencies loaded on first use: `require('oxymail')` must stay as fast as a bare Node start
 * (Electron apps pay every module at start-up), so nodemailer, html-to-text and jsonc-parser are
 * required by the first call that needs them, not by the files that use them.
 */

/** A function that loads a value on its first call and returns the same value afterwards. */
export function lazy<T>(load: () => T): () => T {
  let loaded = false;
  let value: T;
  return () => {
    if (!loaded) {
      value = load();
      loaded = true;
    }
    return value;
  };
}

/** Defines each of `getters` on a module's exports as an enumerable getter, its value loaded on first read. */
export function lazyExports(target: object, getters: Record<string, () => unknown>): void {
  for (const [name, load] of Object.entries(getters)) {
    const value = lazy(load);
    Object.defineProperty(target, name, { enumerable: true, configurable: true, get: value });
  }
}

/* eslint-disable @typescript-eslint/no-require-imports */
export const nodemailer = lazy(() => require('nodemailer') as typeof import('nodemailer'));
export const addressparser = lazy(() => require('nodemailer/lib/addressparser') as typeof import('nodemailer/lib/addressparser').default);
export const smtpConnection = lazy(() => require('nodemailer/lib/smtp-connection') as typeof import('nodemailer/lib/smtp-connection').default);
export const mimeFuncs = lazy(() => require('nodemailer/lib/mime-funcs') as typeof import('nodemailer/lib/mime-funcs'));
export const htmlToTextModule = lazy(() => require('html-to-text') as typeof import('html-to-text'));
export const jsoncParser = lazy(() => require('jsonc-parser') as typeof import('jsonc-parser'));

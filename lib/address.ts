/**
 * Addresses: parsing with nodemailer's RFC 5322 address parser, and the checks that keep
 * a header value from smuggling in another header.
 */
import addressparser from 'nodemailer/lib/addressparser';
import { Problem, problem } from './errors';
import { Text, text } from './i18n';

/** A mailbox: a display name (may be empty) and an addr-spec. */
export interface Mailbox {
  name: string;
  address: string;
}

/** What a caller may pass for an address field. */
export type AddressInput = string | { name?: string; address: string };

/** True when a header value would break onto a new header line. */
export function hasLineBreak(value: string): boolean {
  return /[\r\n]/.test(value);
}

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\u0080-\\uFFFF-]";
const LOCAL = new RegExp(`^${ATEXT}+(\\.${ATEXT}+)*$`);
const LABEL = '[A-Za-z0-9\\u0080-\\uFFFF](?:[A-Za-z0-9\\u0080-\\uFFFF-]*[A-Za-z0-9\\u0080-\\uFFFF])?';
const DOMAIN = new RegExp(`^(${LABEL}\\.)+${LABEL}$|^\\[[0-9A-Fa-f:.]+\\]$`);

/** Why an addr-spec is not a valid address, or undefined when it is. */
export function checkAddress(address: string): Text | undefined {
  if (hasLineBreak(address)) return text('INVALID_MESSAGE.lineBreak');
  const at = address.lastIndexOf('@');
  if (at < 1) return text('INVALID_ADDRESS.notAddress', { address });
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (!LOCAL.test(local) || local.length > 64) return text('INVALID_ADDRESS.local', { address });
  if (!DOMAIN.test(domain) || domain.length > 253) return text('INVALID_ADDRESS.domain', { address });
  return undefined;
}

/**
 * Parses one address field (a string that may hold several addresses, an object, or an array of
 * either) into mailboxes, adding a problem per invalid entry. CR/LF is refused before parsing,
 * because the parser would otherwise fold it away silently.
 */
export function parseAddressField(path: string, value: unknown, problems: Problem[], codes: Set<string>): Mailbox[] {
  const out: Mailbox[] = [];
  const items = Array.isArray(value) ? value : [value];
  items.forEach((item, i) => {
    const at = Array.isArray(value) ? `${path}[${i}]` : path;
    if (typeof item === 'string') {
      if (hasLineBreak(item)) {
        problems.push(problem(at, text('INVALID_MESSAGE.lineBreak')));
        codes.add('INVALID_MESSAGE');
        return;
      }
      const parsed = addressparser(item, { flatten: true });
      const ambiguous = checkAmbiguous(item, parsed);
      if (ambiguous) {
        problems.push(problem(at, ambiguous));
        codes.add('INVALID_ADDRESS');
        return;
      }
      for (const mailbox of parsed) pushMailbox(at, mailbox.name, mailbox.address, out, problems, codes);
    } else if (item && typeof item === 'object' && typeof (item as Mailbox).address === 'string') {
      const { name = '', address } = item as Mailbox;
      if (typeof name !== 'string' || hasLineBreak(name) || hasLineBreak(address)) {
        problems.push(problem(at, text('INVALID_MESSAGE.mailbox')));
        codes.add('INVALID_MESSAGE');
        return;
      }
      pushMailbox(at, name, address.trim(), out, problems, codes);
    } else {
      problems.push(problem(at, text('INVALID_MESSAGE.addressShape')));
      codes.add('INVALID_MESSAGE');
    }
  });
  return out;
}

/**
 * The parser is lenient: it folds stray words into the display name, so `a@x.com b@y.com` would
 * become one mailbox named "b@y.com" and a recipient would be lost without a word. These shapes
 * are refused instead: an unquoted name holding an '@', text after a closing '>', and a bare name
 * in front of an address that has no angle brackets.
 */
function checkAmbiguous(raw: string, parsed: { name: string; address: string }[]): Text | undefined {
  const unquoted = raw.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const fix = text('INVALID_ADDRESS.fix');
  if (/>\s*[^\s,;(]/.test(unquoted)) return text('INVALID_ADDRESS.afterBracket', { raw, fix });
  for (const { name } of parsed) {
    if (name.includes('@') && !raw.includes(`"${name}"`)) return text('INVALID_ADDRESS.noCommas', { raw, fix });
  }
  if (!unquoted.includes('<') && !unquoted.includes('(') && parsed.some((m) => m.name)) return text('INVALID_ADDRESS.bareName', { raw, fix });
  return undefined;
}

function pushMailbox(path: string, name: string, address: string, out: Mailbox[], problems: Problem[], codes: Set<string>): void {
  const wrong = checkAddress(address);
  if (wrong) {
    problems.push(problem(path, wrong));
    codes.add('INVALID_ADDRESS');
  } else {
    out.push({ name, address });
  }
}

/** Formats a mailbox for display and logs (not for headers: nodemailer encodes those). */
export function formatMailbox(m: Mailbox): string {
  return m.name ? `${m.name} <${m.address}>` : m.address;
}

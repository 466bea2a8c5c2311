/**
 * Addresses: parsing with nodemailer's RFC 5322 address parser, and the checks that keep
 * a header value from smuggling in another header.
 */
import { domainToASCII } from 'node:url';
import { Problem, problem } from './errors';
import { Text, text } from './i18n';
import { addressparser } from './lazy';

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

/**
 * Characters no address or display name may hold: C0 and C1 controls (NUL, BEL, BS, ESC... and
 * U+0085 NEL), bidi embeddings, overrides and isolates (U+202E shows "moc.elpmaxe" as
 * "example.com"), zero-width characters, the line and paragraph separators, the BOM, and other
 * invisible format characters. Parsers drop or fold some of them silently, which rewrites the
 * address (`billing@partner.example\0.attacker.example`), so they are refused, never stripped.
 */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]/u;

/** The first forbidden character of a value, described for the error message, or undefined. */
export function forbiddenCharacter(value: string): Text | undefined {
  const m = FORBIDDEN.exec(value);
  if (!m) return undefined;
  const code = m[0].codePointAt(0) as number;
  return text('INVALID_ADDRESS.character', { code: `U+${code.toString(16).toUpperCase().padStart(4, '0')}`, position: m.index + 1 });
}

/** RFC 5321 limits, in octets: local part 64, domain 255, a path (address) 254 once the brackets are counted. */
export const ADDRESS_LIMITS = { local: 64, domain: 255, label: 63, address: 254 } as const;
/** A sane upper bound for a display name (it goes in a header, encoded). */
export const MAX_DISPLAY_NAME = 256;

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\u0080-\\u{10FFFF}-]";
const LOCAL = new RegExp(`^${ATEXT}+(\\.${ATEXT}+)*$`, 'u');
const ASCII_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const LITERAL = /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+)\]$/;
const octets = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * Why an addr-spec is not a valid address, or undefined when it is. `normalizeAddress` gives the
 * form that goes on the wire.
 */
export function checkAddress(address: string): Text | undefined {
  const wire = normalizeAddress(address);
  return typeof wire === 'string' ? undefined : wire.problem;
}

/** True when an (already normalised) address needs SMTPUTF8: a local part outside ASCII. */
export function needsSmtpUtf8(address: string): boolean {
  return /[^\x00-\x7f]/.test(address.slice(0, address.lastIndexOf('@')));
}

/**
 * The wire form of an addr-spec (an IDN domain in punycode, `zoé@exämple.fr` ->
 * `zoé@xn--exmple-cua.fr`), or the problem with it. The local part is kept as given: one outside
 * ASCII needs a server that offers SMTPUTF8, which the SMTP transport checks.
 */
export function normalizeAddress(address: string): string | { problem: Text } {
  if (hasLineBreak(address)) return { problem: text('INVALID_MESSAGE.lineBreak') };
  const bad = forbiddenCharacter(address);
  if (bad) return { problem: text('INVALID_ADDRESS.invisible', { value: JSON.stringify(address).slice(1, -1), character: bad }) };
  const at = address.lastIndexOf('@');
  if (at < 1) return { problem: text('INVALID_ADDRESS.notAddress', { address }) };
  const local = address.slice(0, at);
  let domain = address.slice(at + 1);
  if (!LOCAL.test(local)) return { problem: text('INVALID_ADDRESS.local', { address }) };
  if (octets(local) > ADDRESS_LIMITS.local) return { problem: text('INVALID_ADDRESS.localLength', { address, max: ADDRESS_LIMITS.local }) };
  if (!LITERAL.test(domain)) {
    if (/[^\x00-\x7f]/.test(domain)) {
      const ascii = domainToASCII(domain);
      if (!ascii) return { problem: text('INVALID_ADDRESS.idn', { address }) };
      domain = ascii;
    }
    const labels = domain.split('.');
    if (labels.length < 2 || !labels.every((l) => ASCII_LABEL.test(l))) return { problem: text('INVALID_ADDRESS.domain', { address }) };
    if (labels.some((l) => l.length > ADDRESS_LIMITS.label)) return { problem: text('INVALID_ADDRESS.labelLength', { address, max: ADDRESS_LIMITS.label }) };
    if (domain.length > ADDRESS_LIMITS.domain - 2) return { problem: text('INVALID_ADDRESS.domainLength', { address }) };
  }
  const wire = `${local}@${domain}`;
  if (octets(wire) > ADDRESS_LIMITS.address) return { problem: text('INVALID_ADDRESS.length', { address, max: ADDRESS_LIMITS.address }) };
  return wire;
}

/** Why a display name cannot be used, or undefined. */
export function checkDisplayName(name: string): Text | undefined {
  const bad = forbiddenCharacter(name);
  if (bad) return text('INVALID_ADDRESS.nameInvisible', { character: bad });
  if (name.length > MAX_DISPLAY_NAME) return text('INVALID_ADDRESS.nameLength', { max: MAX_DISPLAY_NAME });
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
      // Before parsing: the parser drops some of these silently and so rewrites the address.
      const bad = forbiddenCharacter(item);
      if (bad) {
        problems.push(problem(at, text('INVALID_ADDRESS.invisible', { value: JSON.stringify(item).slice(1, -1), character: bad })));
        codes.add('INVALID_ADDRESS');
        return;
      }
      if (item.length > 100_000) {
        problems.push(problem(at, text('INVALID_ADDRESS.fieldLength', { max: 100000 })));
        codes.add('INVALID_ADDRESS');
        return;
      }
      const parsed = addressparser()(item, { flatten: true });
      const ambiguous = checkAmbiguous(item, parsed);
      if (ambiguous) {
        problems.push(problem(at, ambiguous));
        codes.add('INVALID_ADDRESS');
        return;
      }
      for (const mailbox of parsed) pushMailbox(at, mailbox.name, mailbox.address, out, problems, codes);
    } else if (item && typeof item === 'object' && Object.hasOwn(item, 'address') && typeof (item as Mailbox).address === 'string') {
      // Own properties only: a `name` inherited from a polluted Object.prototype is not the caller's.
      const unknown = Object.keys(item).filter((k) => k !== 'name' && k !== 'address');
      if (unknown.length) {
        problems.push(problem(at, text(unknown.length > 1 ? 'UNKNOWN_OPTION.mailboxFields' : 'UNKNOWN_OPTION.mailboxField', { fields: unknown.join(', ') })));
        codes.add('UNKNOWN_OPTION');
        return;
      }
      const address = (item as Mailbox).address;
      const name = Object.hasOwn(item, 'name') ? (item as Mailbox).name : '';
      if (typeof name !== 'string' || hasLineBreak(name) || hasLineBreak(address)) {
        problems.push(problem(at, text('INVALID_MESSAGE.mailbox')));
        codes.add('INVALID_MESSAGE');
        return;
      }
      // trim() would remove a BOM or U+2028 first: look at what the caller gave.
      const bad = forbiddenCharacter(address);
      if (bad) {
        problems.push(problem(at, text('INVALID_ADDRESS.invisible', { value: JSON.stringify(address).slice(1, -1), character: bad })));
        codes.add('INVALID_ADDRESS');
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
  const wire = normalizeAddress(address);
  const nameProblem = checkDisplayName(name);
  if (typeof wire !== 'string') {
    problems.push(problem(path, wire.problem));
    codes.add('INVALID_ADDRESS');
  } else if (nameProblem) {
    problems.push(problem(path, nameProblem));
    codes.add('INVALID_ADDRESS');
  } else {
    out.push({ name, address: wire });
  }
}

/** Formats a mailbox for display and logs (not for headers: nodemailer encodes those). */
export function formatMailbox(m: Mailbox): string {
  return m.name ? `${m.name} <${m.address}>` : m.address;
}

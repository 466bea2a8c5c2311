/**
 * The five importance levels of the product page, and how each protocol writes them.
 *
 * Outlook reads `Importance` (three levels), Thunderbird reads `X-Priority` (five levels), so both
 * are written; `normal` writes nothing at all, which is what every client assumes by default.
 */

/** The five importance levels, from very low to very high. */
export const IMPORTANCE_LEVELS = ['very-low', 'low', 'normal', 'high', 'very-high'] as const;

/** One of the five importance levels. */
export type Importance = (typeof IMPORTANCE_LEVELS)[number];

const SMTP_HEADERS: Record<Importance, Record<string, string>> = {
  'very-high': { 'X-Priority': '1 (Highest)', Importance: 'high', 'X-MSMail-Priority': 'High' },
  high: { 'X-Priority': '2 (High)', Importance: 'high', 'X-MSMail-Priority': 'High' },
  normal: {},
  low: { 'X-Priority': '4 (Low)', Importance: 'low', 'X-MSMail-Priority': 'Low' },
  'very-low': { 'X-Priority': '5 (Lowest)', Importance: 'low', 'X-MSMail-Priority': 'Low' },
};

/** True when `value` is one of the five levels. */
export function isImportance(value: unknown): value is Importance {
  return typeof value === 'string' && (IMPORTANCE_LEVELS as readonly string[]).includes(value);
}

/** The header lines an SMTP message carries for a level (none for `normal`). */
export function smtpImportanceHeaders(level: Importance): Record<string, string> {
  return { ...SMTP_HEADERS[level] };
}

/** MAPI `PR_IMPORTANCE`: 0 low, 1 normal, 2 high (MAPI has three levels). */
export function mapiImportance(level: Importance): 0 | 1 | 2 {
  if (level === 'very-low' || level === 'low') return 0;
  if (level === 'normal') return 1;
  return 2;
}

/**
 * English texts, by key. A key starts with the stable code it belongs to (`SMTP_AUTH.refused`,
 * `SMTP_AUTH.hint.gmail`) or with the part of oxymail that shows it (`doctor.`, `cli.`); `{name}`
 * is a named parameter. fr.ts has exactly the same keys and parameters (test/unit/i18n.test.ts).
 */
export const en = {
  // Validation problems, listed under one heading.
  'problems.list': '{what}:\n{list}',
  'problems.line': '  - {path}: {message}',
  'problems.hints': '{hints}',
} as const;

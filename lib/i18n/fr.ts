/**
 * Textes en français, par clé : les mêmes clés et les mêmes paramètres que en.ts
 * (test/unit/i18n.test.ts le vérifie). Vocabulaire du produit : paramètres d'envoi, mot de passe
 * d'application, serveur SMTP, client de messagerie, accusé de réception, accusé de lecture.
 */
import type { en } from './en';

export const fr: Record<keyof typeof en, string> = {
  'problems.list': '{what} :\n{list}',
  'problems.line': '  - {path} : {message}',
  'problems.hints': '{hints}',
};

/** The README's "In code" example, read from README.md and run as written (test/smtp and test/windows). */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import type { MailMessage, SendResult } from '../../lib';

/** The first ```ts block after the "## In code" heading. */
export function readmeExample(): string {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## In code'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README.md has no ```ts block under "## In code"');
  return match[1];
}

export type Run = (createMailerImpl: unknown, userSettings: unknown, relayFromTheSuite: unknown, vcardText: string) => Promise<SendResult>;

/** The block as an async function of the names it takes from its context; returns its `result`. */
export function compileExample(block: string = readmeExample()): Run {
  if (!/^import \{ createMailer \} from 'oxymail';$/m.test(block)) throw new Error("the example no longer starts with import { createMailer } from 'oxymail'");
  const body = block.replace(/^import .*$/m, '') + '\nreturn result;';
  const js = ts.transpileModule(body, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None } }).outputText;
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
  return new AsyncFunction('createMailer', 'userSettings', 'relayFromTheSuite', 'vcardText', js) as Run;
}

/** The message and the mailer options the example uses, captured by a createMailer that sends nothing. */
export async function exampleCall(vcardText: string): Promise<{ message: MailMessage; options: Record<string, unknown> }> {
  let message: MailMessage | undefined;
  let options: Record<string, unknown> = {};
  const capture = (_settings: unknown, mailerOptions: Record<string, unknown> = {}) => {
    options = mailerOptions;
    return {
      close: () => undefined,
      send: async (m: MailMessage) => {
        message = m;
        return { protocol: 'mapi', warnings: [] };
      },
    };
  };
  await compileExample()(capture, {}, undefined, vcardText);
  return { message: message as MailMessage, options };
}

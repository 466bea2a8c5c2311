/**
 * Commander in the CLI's language: the help's headings, the "(choices: ...)" / "(default: ...)"
 * notes, the "(required)" marker, the built-in help option and help command, and Commander's own
 * usage errors (unknown option, missing required option...), all from the catalogs. Commander
 * only speaks English, so its error lines are matched by their code and shape and told again; one
 * whose shape is not known (a newer Commander) is shown as Commander wrote it.
 */
import { Argument, Command, Help, Option } from 'commander';
import type { MessageKey } from '../i18n';
import { t } from './output';

/** Commander's headings, as formatHelp passes them to styleTitle. */
const TITLES: Record<string, MessageKey> = {
  'Usage:': 'cli.help.usage',
  'Options:': 'cli.help.options',
  'Commands:': 'cli.help.commands',
  'Arguments:': 'cli.help.arguments',
  'Global Options:': 'cli.help.globalOptions',
};

/** The "(choices: ..., default: ...)" note of an option or an argument, in the CLI's language. */
function extras(description: string, choices: readonly string[] | undefined, defaultValue: unknown, defaultDescription: string | undefined): string {
  const notes: string[] = [];
  if (choices) notes.push(t('cli.help.choices', { list: choices.map((c) => JSON.stringify(c)).join(', ') }));
  if (defaultValue !== undefined) notes.push(t('cli.help.default', { value: defaultDescription || JSON.stringify(defaultValue) }));
  if (!notes.length) return description;
  return description ? `${description} (${notes.join(', ')})` : `(${notes.join(', ')})`;
}

/** The help of every command: headings and notes localized, required options marked. */
export class LocalHelp extends Help {
  styleTitle(str: string): string {
    const key = TITLES[str];
    return super.styleTitle(key ? t(key) : str);
  }

  commandUsage(cmd: Command): string {
    return super.commandUsage(cmd).replace(/\[command\]/g, t('cli.help.commandPlaceholder'));
  }

  optionDescription(option: Option): string {
    // Commander shows a default only for an option that takes a value (as its own optionDescription does).
    const shown = option.required || option.optional || (option.isBoolean() && typeof option.defaultValue === 'boolean');
    const text = extras(option.description, option.argChoices, shown ? option.defaultValue : undefined, option.defaultValueDescription);
    return option.mandatory ? t('cli.required', { text }) : text;
  }

  argumentDescription(argument: Argument): string {
    return extras(argument.description, argument.argChoices, argument.defaultValue, argument.defaultValueDescription);
  }
}

const quoted = "'([^']*)'";

/** Commander's usage errors by code: the English shape (after `error: `) and the catalog text it becomes. */
const ERRORS: Record<string, { shape: RegExp; say: (m: RegExpExecArray) => string }> = {
  'commander.unknownOption': { shape: new RegExp(`^unknown option ${quoted}`), say: (m) => t('cli.commander.unknownOption', { option: m[1] }) },
  'commander.unknownCommand': { shape: new RegExp(`^unknown command ${quoted}`), say: (m) => t('cli.commander.unknownCommand', { command: m[1] }) },
  'commander.missingArgument': {
    shape: new RegExp(`^missing required argument ${quoted}`),
    say: (m) => t('cli.commander.missingArgument', { name: m[1] }),
  },
  'commander.optionMissingArgument': {
    shape: new RegExp(`^option ${quoted} argument missing`),
    say: (m) => t('cli.commander.optionMissingArgument', { option: m[1] }),
  },
  'commander.missingMandatoryOptionValue': {
    shape: new RegExp(`^required option ${quoted} not specified`),
    say: (m) => t('cli.commander.missingMandatoryOptionValue', { option: m[1] }),
  },
  'commander.excessArguments': {
    shape: /^too many arguments(?: for '([^']*)')?\. Expected (\d+) arguments? but got (\d+)\./,
    say: (m) => t('cli.commander.excessArguments', { command: m[1] ?? 'oxymail', expected: m[2], received: m[3] }),
  },
  'commander.invalidArgument': {
    shape: /^(?:option '([^']*)' argument '([^']*)' is invalid\.|command-argument value '([^']*)' is invalid for argument '([^']*)'\.)\s*(.*)$/s,
    say: (m) => {
      const choices = /^Allowed choices are (.*)\.$/s.exec(m[5]);
      const why = choices ? t('cli.commander.choices', { list: choices[1] }) : m[5];
      return m[1] !== undefined
        ? t('cli.commander.invalidOptionValue', { option: m[1], value: m[2], why })
        : t('cli.commander.invalidArgumentValue', { name: m[4], value: m[3], why });
    },
  },
};

/** Commander's "(Did you mean --port?)" line, in the CLI's language. */
function suggestion(rest: string): string {
  const m = /^\n\(Did you mean (one of )?(.*)\?\)$/s.exec(rest);
  if (!m) return rest;
  return `\n${t(m[1] ? 'cli.commander.didYouMeanOneOf' : 'cli.commander.didYouMean', { list: m[2] })}`;
}

/**
 * A Commander usage error in the CLI's language: `error: unknown option '--x'` becomes
 * `erreur : option inconnue '--x'` under French. The code (and so the exit status) is unchanged.
 */
export function localCommanderMessage(message: string, code: string | undefined): string {
  const known = code ? ERRORS[code] : undefined;
  const body = message.replace(/^error: /, '');
  const m = known?.shape.exec(body);
  if (!known || !m) return message;
  return t('cli.error', { message: known.say(m) + suggestion(body.slice(m[0].length)) });
}

/**
 * The CLI's commands: their sub-commands are of the same kind (createCommand), their help is
 * LocalHelp, and Commander's own usage errors are told in the CLI's language.
 */
export class LocalCommand extends Command {
  createCommand(name?: string): LocalCommand {
    return new LocalCommand(name);
  }

  createHelp(): Help {
    return Object.assign(new LocalHelp(), this.configureHelp());
  }

  error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    return super.error(localCommanderMessage(message, errorOptions?.code), errorOptions);
  }
}

/** The built-in help option and help command, described in the CLI's language (set before the sub-commands, which inherit them). */
export function localBuiltins(cli: Command): Command {
  return cli.helpOption('-h, --help', t('cli.help.help')).helpCommand(`help ${t('cli.help.commandPlaceholder')}`, t('cli.help.helpCommand'));
}

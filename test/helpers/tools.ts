/**
 * Suites that need a tool from outside npm (Postfix's smtp-sink, Wine) say so loudly when it is
 * missing: under CI (the CI environment variable) that is a failure, elsewhere a banner and
 * skipped tests that name the install command.
 */
import { existsSync } from 'node:fs';

export function requireTool(what: string, file: string, install: string): boolean {
  if (existsSync(file)) return true;
  const banner = `\n${'!'.repeat(78)}\n!! ${what} is not installed (${file}): this suite CANNOT RUN here.\n!! Install it with: ${install}\n${'!'.repeat(78)}\n`;
  test(`${what} is installed`, () => {
    // Postfix has no Windows build: a Windows runner runs the other suites.
    if (process.env.CI && process.platform !== 'win32') throw new Error(`CI must install ${what}: ${install}`);
    process.stderr.write(banner);
  });
  return false;
}

/**
 * The published types, as a consumer's compiler sees them: the package (package.json and dist/, as
 * npm installs it, without its dependencies) in a fresh node_modules, and test/types/consumer.ts
 * compiled under every module resolution a TypeScript project uses, with esModuleInterop and
 * skipLibCheck off. Needs `npm run build` (npm test runs it first).
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { tempDir } from '../helpers/fixtures';

const ROOT = path.join(__dirname, '..', '..');

/** A project folder whose node_modules holds only oxymail (and @types/node with its undici-types, for Buffer and streams). */
function project(packageJson: (pkg: Record<string, unknown>) => Record<string, unknown> = (p) => p): string {
  if (!existsSync(path.join(ROOT, 'dist', 'index.d.ts'))) throw new Error('dist/ is missing: run npm run build first');
  const dir = tempDir('oxymail-types-');
  const pkgDir = path.join(dir, 'node_modules', 'oxymail');
  mkdirSync(pkgDir, { recursive: true });
  cpSync(path.join(ROOT, 'dist'), path.join(pkgDir, 'dist'), { recursive: true });
  writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify(packageJson(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')))));
  for (const dep of ['@types/node', 'undici-types']) cpSync(path.join(ROOT, 'node_modules', dep), path.join(dir, 'node_modules', dep), { recursive: true });
  for (const name of ['consumer.ts', 'consumer.mts']) copyFileSync(path.join(__dirname, 'consumer.ts'), path.join(dir, name));
  return dir;
}

function compile(dir: string, file: string, module: ts.ModuleKind, moduleResolution: ts.ModuleResolutionKind): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    esModuleInterop: false,
    allowSyntheticDefaultImports: false,
    skipLibCheck: false,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    typeRoots: [path.join(dir, 'node_modules', '@types')],
    module,
    moduleResolution,
  };
  const program = ts.createProgram([path.join(dir, file)], options);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file ? path.relative(dir, d.file.fileName) : ''}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

const { ModuleKind: M, ModuleResolutionKind: R } = ts;
const CASES: [string, string, ts.ModuleKind, ts.ModuleResolutionKind][] = [
  ['node10 (CommonJS, as many Electron apps)', 'consumer.ts', M.CommonJS, R.Node10],
  ['node16, a CommonJS file', 'consumer.ts', M.Node16, R.Node16],
  ['node16, an ES module (.mts)', 'consumer.mts', M.Node16, R.Node16],
  ['nodenext, an ES module (.mts)', 'consumer.mts', M.NodeNext, R.NodeNext],
  ['bundler', 'consumer.ts', M.ESNext, R.Bundler],
];

describe('the public types compile in a consumer without esModuleInterop or skipLibCheck', () => {
  let dir: string;
  beforeAll(() => {
    dir = project();
  });

  test.each(CASES)('%s', (_name, file, module, resolution) => {
    expect(compile(dir, file, module, resolution)).toEqual([]);
  });

  test("no public declaration file reaches nodemailer's types (the package's dependencies are not installed here)", () => {
    const program = ts.createProgram([path.join(dir, 'consumer.ts')], { noEmit: true, module: M.CommonJS, moduleResolution: R.Node10, types: ['node'] });
    const loaded = program.getSourceFiles().map((f) => f.fileName);
    expect(loaded.filter((f) => f.includes('node_modules/oxymail/')).length).toBeGreaterThan(5);
    expect(loaded.filter((f) => /node_modules\/(@types\/)?(nodemailer|html-to-text|jsonc-parser|commander)\//.test(f))).toEqual([]);
    // and no declaration of ours imports them (they would fail to resolve here, or pull their types where installed)
    for (const f of loaded.filter((f) => f.includes('node_modules/oxymail/'))) {
      expect([f, readFileSync(f, 'utf8')]).not.toEqual([
        f,
        expect.stringMatching(/from '(nodemailer|html-to-text|jsonc-parser|commander)[/']|import\('(nodemailer|html-to-text|jsonc-parser)/),
      ]);
    }
  });
});

test('control: without typesVersions, node10 cannot resolve oxymail/testing (what the field is for)', () => {
  const dir = project(({ typesVersions: _drop, ...pkg }) => pkg);
  expect(compile(dir, 'consumer.ts', M.CommonJS, R.Node10).join('\n')).toMatch(/TS2307 Cannot find module 'oxymail\/testing'/);
});

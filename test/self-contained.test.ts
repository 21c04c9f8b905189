/**
 * The test suite is self-contained: nothing under test/ reads a path outside the repository,
 * so a fresh clone runs it as it is. Every path-like string literal in test/**\/*.ts is
 * resolved the way it is used and must stay inside the repository root:
 * - import specifiers against the file's own folder, in test/ and as compiled into dist/test/;
 * - `new URL(x, import.meta.url)` against the compiled folder, where it runs;
 * - `join` / `resolve` segments against both folders (and the working directory when nothing
 *   else anchors them);
 * - any other `./` or `../` string against both folders and the working directory (the root,
 *   under `npm test`);
 * - absolute file-system paths (`/work/...`, `/tmp/...`, `C:\...`, `file://`) are refused outright.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Tests run from dist/test/. */
const root = fileURLToPath(new URL('../../', import.meta.url));

interface Escape {
  readonly line: number;
  readonly literal: string;
  readonly why: string;
}

const absolutePath = /^(?:\/(?:work|tmp|home|root|Users|var|etc|opt|mnt|srv|usr)(?:\/|$)|[A-Za-z]:[\\/]|file:\/\/|~\/)/;

function isRelative(s: string): boolean {
  return s === '.' || s === '..' || s.startsWith('./') || s.startsWith('../');
}

function inside(rootDir: string, p: string): boolean {
  const rel = relative(rootDir, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !/^[A-Za-z]:/.test(rel) && !rel.startsWith(sep));
}

function calleeName(e: ts.Expression): string | null {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return null;
}

function isImportMetaUrl(e: ts.Expression | undefined): boolean {
  return e !== undefined && ts.isPropertyAccessExpression(e) && e.name.text === 'url'
    && ts.isMetaProperty(e.expression) && e.expression.keywordToken === ts.SyntaxKind.ImportKeyword;
}

function literalText(n: ts.Node): string | null {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  // A template's leading text is where a path starts; what follows a substitution is not.
  if (ts.isTemplateExpression(n)) return n.head.text;
  return null;
}

/**
 * Literals in `source` (the text of `file`, a path relative to `rootDir` such as
 * `test/support/config.ts`) that point outside `rootDir`.
 */
function escapes(file: string, source: string, rootDir: string): Escape[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const sourceDir = resolve(rootDir, dirname(file));
  const compiledDir = resolve(rootDir, 'dist', dirname(file));
  const found: Escape[] = [];
  const handled = new Set<ts.Node>();
  const lineOf = (n: ts.Node): number => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const check = (n: ts.Node, literal: string, bases: readonly [string, string][]): void => {
    for (const [name, base] of bases) {
      const target = resolve(base, literal);
      if (!inside(rootDir, target)) {
        found.push({ line: lineOf(n), literal, why: `outside the repository (${target}, resolved against ${name})` });
        return;
      }
    }
  };
  const bothDirs: [string, string][] = [['the source folder', sourceDir], ['the compiled folder', compiledDir]];
  const everywhere: [string, string][] = [...bothDirs, ['the working directory', rootDir]];

  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      handled.add(n.moduleSpecifier);
      if (isRelative(n.moduleSpecifier.text)) check(n.moduleSpecifier, n.moduleSpecifier.text, bothDirs);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = n.arguments;
      const text = arg === undefined ? null : literalText(arg);
      if (arg !== undefined && text !== null) {
        handled.add(arg);
        if (isRelative(text)) check(arg, text, bothDirs);
      }
    } else if (ts.isNewExpression(n) && calleeName(n.expression) === 'URL' && n.arguments !== undefined && n.arguments.length >= 2) {
      const [arg, base] = n.arguments;
      const text = arg === undefined ? null : literalText(arg);
      if (arg !== undefined && text !== null) {
        handled.add(arg);
        // Against any other base (an HTTP URL) only the absolute-path rule below applies.
        if (isImportMetaUrl(base) && isRelative(text)) check(arg, text, [['the compiled folder', compiledDir]]);
      }
    } else if (ts.isCallExpression(n) && ['join', 'resolve'].includes(calleeName(n.expression) ?? '')) {
      // path.join(base, '..', 'x'): the literal segments after the last non-literal argument.
      const args = [...n.arguments];
      let start = args.length;
      while (start > 0 && literalText(args[start - 1]!) !== null && !ts.isTemplateExpression(args[start - 1]!)) start--;
      const segments = args.slice(start);
      if (segments.length > 0) {
        for (const s of segments) handled.add(s);
        const joined = posix.join(...segments.map((s) => literalText(s) ?? ''));
        // Anchored on some folder expression: the file's own, source or compiled; else the working directory.
        const anchored = start > 0 && args[0]?.getText(sf) !== 'process.cwd()';
        if (isRelative(joined)) check(n, joined, anchored ? bothDirs : everywhere);
      }
    }
    const text = literalText(n);
    if (text !== null && absolutePath.test(text)) found.push({ line: lineOf(n), literal: text, why: 'an absolute file-system path' });
    // Any other relative string; a bare '..' or '../' names no file, a path has a name in it.
    else if (text !== null && !handled.has(n) && isRelative(text) && /[^./]/.test(text)) check(n, text, everywhere);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return testSources(p);
    return e.isFile() && e.name.endsWith('.ts') ? [p] : [];
  });
}

// --- the checker itself, on sample sources ------------------------------------------------

/** What test/support/config.ts held before the fixtures moved into the repository. */
const oldCompatLine = "export const compatDir = fileURLToPath(new URL('../../../../shared/compat/litellm-configs/', import.meta.url));";

/** Each case is flagged once, as `line N: <literal>` (written so, it is no path itself). */
const flagged: readonly { name: string; file: string; source: string; want: string }[] = [
  { name: 'the old compatDir line', file: 'test/support/config.ts', source: oldCompatLine, want: 'line 1: ../../../../shared/compat/litellm-configs/' },
  { name: 'the same line moved to test/', file: 'test/config.test.ts', source: "const d = fileURLToPath(new URL('../../../elsewhere/configs/', import.meta.url));", want: 'line 1: ../../../elsewhere/configs/' },
  { name: 'a path read relative to the working directory', file: 'test/config.test.ts', source: "readFileSync('../elsewhere/configs/a.yaml', 'utf8');", want: 'line 1: ../elsewhere/configs/a.yaml' },
  { name: 'an absolute fixture path', file: 'test/config.test.ts', source: "loadConfigFile('/work/elsewhere/configs/a.yaml', {});", want: 'line 1: /work/elsewhere/configs/a.yaml' },
  { name: 'a temp-dir fixture path', file: 'test/config.test.ts', source: 'const f = `/tmp/fixtures/${name}.yaml`;', want: 'line 1: /tmp/fixtures/' },
  { name: 'a file URL', file: 'test/config.test.ts', source: "new URL('file:///home/someone/configs/', import.meta.url);", want: 'line 1: file:///home/someone/configs/' },
  { name: 'an import leaving the root', file: 'test/support/proxy.ts', source: "import { x } from '../../../outside/x.js';", want: 'line 1: ../../../outside/x.js' },
  { name: 'a dynamic import leaving the root', file: 'test/a.test.ts', source: "const m = 1;\nawait import('../../elsewhere/x.js');", want: 'line 2: ../../elsewhere/x.js' },
  { name: 'path.join climbing out', file: 'test/a.test.ts', source: "const d = join(here, '..', '..', '..', 'elsewhere', 'configs');", want: 'line 1: ../../../elsewhere/configs' },
  { name: 'path.resolve from the working directory', file: 'test/a.test.ts', source: "const d = resolve('..', 'elsewhere');", want: 'line 1: ../elsewhere' },
  { name: 'path.join on the working directory', file: 'test/a.test.ts', source: "const d = join(process.cwd(), '..', 'elsewhere');", want: 'line 1: ../elsewhere' },
  { name: 'an absolute segment in path.join', file: 'test/a.test.ts', source: "const d = join(base, '/tmp', 'x.yaml');", want: 'line 1: /tmp' },
  { name: 'an absolute import', file: 'test/a.test.ts', source: "import { x } from '/work/elsewhere/x.js';", want: 'line 1: /work/elsewhere/x.js' },
];
for (const c of flagged) {
  test(`self-contained: the checker flags ${c.name}`, () => {
    assert.deepEqual(escapes(c.file, c.source, root).map((e) => `line ${e.line}: ${e.literal}`), [c.want]);
  });
}

const allowed: readonly { name: string; file: string; source: string }[] = [
  { name: 'imports of src/ from test/', file: 'test/config.test.ts', source: "import { load } from '../src/config/load.js';\nimport { yaml } from './support/config.js';" },
  { name: 'imports of src/ from test/support/', file: 'test/support/config.ts', source: "import { formatProblems } from '../../src/config/load.js';\nexport * from '../../src/config/types.js';" },
  { name: 'fixtures found from the compiled test folder', file: 'test/config.test.ts', source: "const f = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));\nconst c = new URL('../src/cli.js', import.meta.url);" },
  { name: 'HTTP paths and URLs', file: 'test/a.test.ts', source: "await http(`${base}/v1/chat/completions`);\nnew URL('/health', proxy.url);\nconst u = 'https://example.com/etc/x';\nconst p = '/v1/models';" },
  { name: 'temp dirs made at run time', file: 'test/a.test.ts', source: "await mkdtemp(join(tmpdir(), 'switchyard-x-'));" },
  { name: 'join inside the repository', file: 'test/support/x.ts', source: "const d = join(here, '..', 'fixtures');" },
  { name: 'paths only in comments', file: 'test/a.test.ts', source: "// once read from ../elsewhere/configs and /work/elsewhere\nconst x = 1;" },
];
for (const c of allowed) {
  test(`self-contained: the checker allows ${c.name}`, () => {
    assert.deepEqual(escapes(c.file, c.source, root), []);
  });
}

// --- the test suite -----------------------------------------------------------------------

test('self-contained: no file under test/ points outside the repository', () => {
  const files = testSources(join(root, 'test')).map((p) => relative(root, p).split(sep).join('/')).sort();
  for (const f of ['test/self-contained.test.ts', 'test/support/config.ts', 'test/config.test.ts']) assert.ok(files.includes(f), `${f} was not scanned`);
  const report = files.flatMap((f) => escapes(f, readFileSync(join(root, f), 'utf8'), root).map((e) => `${f}:${e.line}: ${JSON.stringify(e.literal)} is ${e.why}`));
  assert.deepEqual(report, []);
});

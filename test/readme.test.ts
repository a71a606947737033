/**
 * The README's code: the quick start is examples/quickstart.ts and prints what its `// prints:` comments
 * say; the vitest recipe is test/readme-recipe.test.ts (which runs with the other suites); both compile
 * under `strict` with `noUncheckedIndexedAccess`, importing 'pksim' as a user does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it, vi } from 'vitest';

const root = resolve(__dirname, '..');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');

/** The first ```ts block after the heading `heading`. */
function block(heading: string): string {
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README has no heading ${heading}`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m?.[1]) throw new Error(`no ts block after ${heading}`);
  return m[1];
}

/** A repository file as a user would write it: importing 'pksim' instead of the source. */
function asUser(path: string): string {
  return readFileSync(resolve(root, path), 'utf8').replace("from '../src/index.js'", "from 'pksim'");
}

const quickStart = block('## Quick start');
const recipe = block('## Testing with vitest');

describe('README', () => {
  it('the quick start is examples/quickstart.ts', () => {
    expect(asUser('examples/quickstart.ts')).toBe(quickStart);
  });

  it('the vitest recipe is test/readme-recipe.test.ts', () => {
    expect(asUser('test/readme-recipe.test.ts')).toBe(recipe);
  });

  it('the quick start prints what its comments say', async () => {
    const expected = [...quickStart.matchAll(/\/\/ prints: (.*?)(?:\s{2,}\(.*\))?$/gm)].map((m) => m[1]);
    expect(expected.length).toBeGreaterThan(0);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    try {
      await import('../examples/quickstart.js');
    } finally {
      spy.mockRestore();
    }
    expect(lines).toEqual(expected);
  });

  it('its code compiles under strict with noUncheckedIndexedAccess', () => {
    const files = new Map([
      [resolve(root, 'readme-quickstart.ts'), quickStart],
      [resolve(root, 'test/readme-recipe.ts'), recipe],
    ]);
    const options: ts.CompilerOptions = {
      strict: true,
      noUncheckedIndexedAccess: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      skipLibCheck: true,
      noEmit: true,
      baseUrl: root,
      paths: { pksim: ['./src/index.ts'] },
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
    host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
    host.getSourceFile = (f, v, ...rest) => {
      const text = files.get(f);
      return text !== undefined ? ts.createSourceFile(f, text, v) : getSourceFile.call(host, f, v, ...rest);
    };
    const program = ts.createProgram([...files.keys()], options, host);
    const problems = [...files.keys()].flatMap((f) =>
      ts.getPreEmitDiagnostics(program, program.getSourceFile(f)).map((d) => `${f}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`),
    );
    expect(problems).toEqual([]);
  }, 60_000);
});

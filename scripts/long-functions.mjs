#!/usr/bin/env node
// Lists the functions in src/**/*.ts longer than a line limit (default 80; `node
// scripts/long-functions.mjs 60` for another), longest first, as `lines code-lines  name  file:line`, and
// whether a comment sits right above the function (issue #11: a long function says why it is long).
// Counts from the line of the declaration to its closing brace. Uses the TypeScript compiler API
// only to parse; it does not type-check and is not part of `npm run lint`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = new URL('..', import.meta.url).pathname;
const LIMIT = Number(process.argv[2] ?? 80);

function* sources(folder) {
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) yield path;
  }
}

function nameOf(node) {
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))) return parent.name.getText();
  return '(anonymous)';
}

const found = [];
for (const path of sources(join(ROOT, 'src'))) {
  const text = readFileSync(path, 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.end).line;
      const lines = last - first + 1;
      // Lines that hold code: not blank, not only a comment.
      const code = text
        .split('\n')
        .slice(first, last + 1)
        .filter((line) => !/^\s*(\/\/.*|\/?\*.*)?$/.test(line)).length;
      if (lines > LIMIT) {
        // A comment on the statement holding the function (its declaration, or the variable
        // statement of an arrow function).
        let holder = node;
        while (holder.parent && !ts.isSourceFile(holder.parent) && !ts.isBlock(holder.parent)) {
          if (ts.isClassLike(holder.parent)) break;
          holder = holder.parent;
        }
        const commented = (ts.getLeadingCommentRanges(text, holder.getFullStart()) ?? []).length > 0;
        found.push({ lines, code, name: nameOf(node), where: `${relative(ROOT, path)}:${first + 1}`, commented });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

found.sort((a, b) => b.lines - a.lines);
for (const f of found) console.log(`${String(f.lines).padStart(4)} ${String(f.code).padStart(4)}  ${f.name}  ${f.where}${f.commented ? '' : '  (no comment above)'}`);
if (found.length === 0) console.log(`no function over ${LIMIT} lines in src/`);

// Runs after `npm install` / `npm ci` (package.json "postinstall").
//
// postgres.js 3.4.9 (the newest release) can crash the whole process when the database drops a
// connection: a small write deferred with setImmediate runs after the socket was set to null and
// throws outside any promise (porsager/postgres#1154, #1208; upstream fixes #1168, #1209 not yet
// released). Teardown also leaves the deferred write armed, so the connection never writes again.
// For a cron engine that must survive outages, both are fatal. This applies the upstream fix:
// the write settles its queries with CONNECTION_CLOSED instead of crashing, and teardown disarms it.
// Idempotent; it changes nothing (and says so) if the driver's code is not the expected version.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const files = ['node_modules/postgres/src/connection.js', 'node_modules/postgres/cjs/src/connection.js'];
const MARK = '/* credits-starter: null-socket guard */';

const replacements = [
  [
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  [
    '    ended && (ended(), ending = ended = null)\n  }\n\n  async function closed(hadError) {\n    incoming = Buffer.alloc(0)\n    remaining = 0\n    incomings = null\n    clearImmediate(nextWriteTimer)\n',
    '    ended && (ended(), ending = ended = null)\n  }\n\n  async function closed(hadError) {\n    incoming = Buffer.alloc(0)\n    remaining = 0\n    incomings = null\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n',
  ],
  [
    '      error(Errors.connection(\'CONNECTION_DESTROYED\', options))\n\n    clearImmediate(nextWriteTimer)\n',
    '      error(Errors.connection(\'CONNECTION_DESTROYED\', options))\n\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n',
  ],
];

for (const file of files) {
  if (!existsSync(file)) continue;
  let source = readFileSync(file, 'utf8');
  if (source.includes(MARK)) continue;
  const missing = replacements.filter(([from]) => !source.includes(from));
  if (missing.length > 0) {
    console.warn(`[patch-postgres] ${file}: not the expected postgres.js code; left unpatched (check whether the upstream fix has shipped).`);
    continue;
  }
  for (const [from, to] of replacements) source = source.replace(from, to);
  writeFileSync(file, source);
  console.log(`[patch-postgres] guarded ${file} against writes on a closed socket`);
}

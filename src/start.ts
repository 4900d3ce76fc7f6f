/**
 * The entry point of dist/cli.js. The rest of the program is bundled into the same file, in a
 * comment at its end (see build.mjs), and compiled here from V8's code cache when a valid one lies
 * beside the file (dist/cli.js.cache): a start then skips parsing and compiling the program.
 * Every pod start pays for start-up; this is the part of it that we can skip. Without a cache,
 * or with one that does not fit, the program is compiled as usual: time lost, nothing else.
 *
 * In a comment, not a string literal: Node parses this whole file before running it, and skipping
 * a comment is far cheaper than scanning and interning a 330 KB string.
 *
 * The cache is written by a training run with XYN_CODE_CACHE_OUT set: `npm run build` makes
 * one; the Dockerfile makes the image's own with the image's node. The cache is executable input:
 * V8 checks only the source's length and its own flags, and runs whatever code a cache holds. So
 * the training run records in this file (line 2, written in place: the program, which V8
 * compares, does not change) the SHA-256 of the rest of this file followed by the cache; a cache
 * that does not give that digest is ignored: a forged one, or one made for another build, only
 * costs the compile it would have saved.
 *
 * CommonJS on purpose: `new vm.Script` with cachedData is the code cache Node 20 offers
 * (module.enableCompileCache arrives in Node 22), and it takes a script, not an ES module.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { wrap } from 'node:module';
import { Script } from 'node:vm';

/** Where the program starts in this file; inside it, every `*` `/` is written `*`, NUL, `/`. */
const PROGRAM_MARK = '/*\0program\n';
/** Line 2 of this file (build.mjs writes it, 64 zeros until a training run): the digest, hex. */
const DIGEST_MARK = '\n// code cache sha256:';

const file = readFileSync(__filename);
const self = file.toString('latin1'); // the program is ASCII (build.mjs checks)
const program = self.slice(self.lastIndexOf(PROGRAM_MARK) + PROGRAM_MARK.length, self.lastIndexOf('*/')).replaceAll('*\0/', '*/');
// Looked for in the first line's reach only: this code holds the mark too, further on.
const digestAt = self.indexOf(DIGEST_MARK) + DIGEST_MARK.length;
const recordedDigest = digestAt > DIGEST_MARK.length && digestAt < 100 ? self.slice(digestAt, digestAt + 64) : undefined;
/** What the cache must have been made for: this file after line 2 (the starter and the program). */
const madeFor = file.subarray(digestAt + 65);
const digestOf = (cache: Buffer) => createHash('sha256').update(madeFor).update(cache).digest('hex');

const cacheOut = process.env.XYN_CODE_CACHE_OUT;

let cachedData: Buffer | undefined;
if (!cacheOut && recordedDigest) {
  try {
    const cache = readFileSync(`${__filename}.cache`);
    if (digestOf(cache) === recordedDigest) cachedData = cache;
  } catch {
    // no cache: compile as usual
  }
}

// Named apart from this file in stack traces: their positions are in the program, not in this file.
const script = new Script(wrap(program), { filename: `${__filename} [program]`, cachedData });
// Written at exit: the cache then holds every function the run compiled, not only the top level.
// A cache that cannot be written or recorded changes nothing else (build.mjs checks that it was).
if (cacheOut) {
  process.once('exit', () => {
    try {
      if (!recordedDigest) throw new Error(`${__filename} has no line for the code cache's digest`);
      const cache = script.createCachedData();
      writeFileSync(cacheOut, cache);
      const fd = openSync(__filename, 'r+');
      try {
        writeSync(fd, digestOf(cache), digestAt, 'latin1');
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      process.stderr.write(`xyn-migrate: the code cache was not written to ${cacheOut}: ${String(error)}\n`);
    }
  });
}

(script.runInThisContext() as (...args: unknown[]) => void)(exports, require, module, __filename, __dirname);

/**
 * The package under test as an application gets it: the build in `dist/` (`npm run bench`
 * builds first), loaded through the package's own `exports` by name. The benchmark's own code
 * runs from TypeScript through tsx; what it measures does not, so that tsx's transform (its
 * keep-names wrapper gives every closure made at run time a property store of its own) is not
 * counted as ours. The types come from the sources that build is made of.
 */
import type * as Inspector from '../../inspector/server/index.js';
import type * as Machines from '../../machines/index.js';
import type * as Root from '../../src/index.js';
import type * as Protocol from '../../src/protocol/index.js';
import type * as Server from '../../src/server/index.js';
import type * as Testing from '../../src/testing/index.js';

interface Entries {
  '': typeof Root;
  '/server': typeof Server;
  '/protocol': typeof Protocol;
  '/testing': typeof Testing;
  '/machines': typeof Machines;
  '/inspector': typeof Inspector;
}

/**
 * One entry point of the built package (`'/server'` is `rtm-statechart/server`). The specifier
 * is built at run time, so TypeScript does not resolve it and type-checking needs no build.
 */
export function builtPackage<E extends keyof Entries>(entry: E): Promise<Entries[E]> {
  return import(`rtm-statechart${entry}`) as Promise<Entries[E]>;
}

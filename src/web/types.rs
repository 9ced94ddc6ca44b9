//! The package's TypeScript declarations are `package/src/index.d.ts`: the types of the package
//! entry, which loads this module lazily. Every class and function exported here skips its
//! generated typing, so that file stays the one description of the public API.

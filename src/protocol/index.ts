export * from './codec.js';
export * from './frames.js';
export * from './limits.js';
export * from './server-frames.js';
export type { Infer, Issue, SafeParseResult, Schema } from './check.js';

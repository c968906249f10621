/**
 * The protocol as the client uses it: limits, the frames the server sends and their checks, and
 * the codec. It re-exports the client frames' types only, so that importing it brings no zod into
 * a browser bundle (the server validates those frames; the client only builds them).
 */
export * from './codec.js';
export * from './limits.js';
export * from './server-frames.js';
export type { ClientFrame, ClientFrameOf, ClientFrameType } from './frames.js';

/** The event maps under Agora RTM 1.x's `RtmEvents` namespace names (issue 14.2). */
export type { RtmClientEvents } from './client.js';
export type { RtmChannelEvents } from './channel.js';

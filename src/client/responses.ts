/** The `data` of each successful response the client reads, checked before use. */
import * as z from 'zod/mini';

const uid = z.string();
const seq = z.int().check(z.nonnegative());

export const PeerSendResult = z.object({ hasPeerReceived: z.boolean() });
/** `seq`: where the channel's history stood at the join, when the server says (replay baseline). */
export const ChannelJoinResult = z.object({
  members: z.array(uid),
  seq: z.optional(seq),
  epoch: z.optional(z.string()),
  /** A rejoin (lastSeq given): what its replay left out (R11.1). */
  recovery: z.optional(
    z.object({ skipped: seq, truncatedBy: z.nullable(z.enum(['REPLAY_CAP', 'REPLAY_WINDOW'])) }),
  ),
});
export const ChannelMembersResult = z.object({ members: z.array(uid) });
export const PresenceResult = z.object({ status: z.array(z.tuple([uid, z.boolean()])) });
export const AttributesResult = z.object({ attrs: z.array(z.tuple([z.string(), z.string()])) });

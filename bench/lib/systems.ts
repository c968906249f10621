/** The three servers compared, in the order every table and chart shows them. */
export const SYSTEMS = ['rtm', 'socketio', 'ws'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const SYSTEM_LABEL: Record<SystemName, string> = {
  rtm: 'rtm-statechart',
  socketio: 'Socket.IO 4',
  ws: 'bare ws',
};

export const SERVER_ENTRY: Record<SystemName, string> = {
  rtm: 'servers/rtm.ts',
  socketio: 'servers/socketio.ts',
  ws: 'servers/ws.ts',
};

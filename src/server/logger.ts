/** Structured logging: one JSON object a line, so logs can be grepped and shipped as they are. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RtmLogger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: RtmLogger = { log() {} };

/** Writes `{"ts":…,"level":…,"event":…,…fields}` lines to a stream (stdout by default). */
export function jsonLineLogger(
  write: (line: string) => void = (line) => process.stdout.write(line),
  minLevel: LogLevel = 'info',
): RtmLogger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    log(level, event, fields) {
      if (order[level] < order[minLevel]) return;
      write(`${JSON.stringify({ ts: new Date().toISOString(), level, event, ...fields })}\n`);
    },
  };
}

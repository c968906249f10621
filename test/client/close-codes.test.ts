/**
 * Issue 16: the client and the link machine write WebSocket close codes from the protocol
 * module (`CloseCode`), never as numbers of their own, so that the two sides cannot drift.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const sources = [
  ...readdirSync(join(root, 'src/client'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `src/client/${name}`),
  'machines/link.machine.ts',
  'machines/connection.machine.ts',
];

/** The code without its comments (a comment may name a code to explain it). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

/** A close code (1000–1015, 4000–4999) written as a number next to a word about closing. */
const CLOSE_CODE_LITERAL = /\b(?:close|onClose|code|closeCode)\b[^\n;]{0,24}?\b(?:10(?:0\d|1[0-5])|4\d{3})\b/g;

describe('issue 16 close codes', () => {
  it('16 the client writes close codes from the protocol module, no literals', () => {
    const found: string[] = [];
    for (const file of sources) {
      for (const match of code(readFileSync(join(root, file), 'utf8')).matchAll(CLOSE_CODE_LITERAL)) found.push(`${file}: ${match[0]}`);
    }
    expect(found).toEqual([]);
  });

  it('16 the check sees a literal close code', () => {
    expect(code('socket.close(4000); // 4003 in a comment').match(CLOSE_CODE_LITERAL)).toEqual(['close(4000']);
    expect(code('close(code = 1000): void').match(CLOSE_CODE_LITERAL)).toEqual(['close(code = 1000']);
    expect(code("{ type: 'LINK_DOWN', closeCode: 4000 }").match(CLOSE_CODE_LITERAL)).toEqual(['closeCode: 4000']);
    expect(code('close(CloseCode.NORMAL)').match(CLOSE_CODE_LITERAL)).toBeNull();
  });
});

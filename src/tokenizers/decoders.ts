/**
 * Decoders of Hugging Face `tokenizer.json` files (the `decoder` field):
 * `ByteLevel`, `Metaspace`, `Replace`, `ByteFallback`, `Fuse`, `Strip` and
 * `Sequence`. As in the Rust library each maps the list of token strings to a
 * new list (`decode_chain`), and the text is the concatenation of the last
 * list; without a decoder tokens are joined with spaces.
 */
import { FileFormatError } from '../errors.js';
import { byteLevelToBytes } from './byte-level.js';
import { patternRegex } from './normalizers.js';

/** One decoder step: token strings in, token strings out. */
export interface DecoderStep {
  decodeChain(tokens: string[]): string[];
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `<0xNN>` → the byte NN, else -1. */
function byteToken(t: string): number {
  if (t.length !== 6 || !t.startsWith('<0x') || t[5] !== '>') return -1;
  const v = parseInt(t.slice(3, 5), 16);
  return Number.isNaN(v) || !/^[0-9a-fA-F]{2}$/.test(t.slice(3, 5)) ? -1 : v;
}

function byteFallback(): DecoderStep {
  return {
    decodeChain(tokens) {
      const out: string[] = [];
      let bytes: number[] = [];
      const flush = (): void => {
        if (bytes.length === 0) return;
        try {
          out.push(utf8Strict.decode(new Uint8Array(bytes)));
        } catch {
          for (let i = 0; i < bytes.length; i++) out.push('\ufffd');
        }
        bytes = [];
      };
      for (const t of tokens) {
        const b = byteToken(t);
        if (b >= 0) bytes.push(b);
        else {
          flush();
          out.push(t);
        }
      }
      flush();
      return out;
    },
  };
}

function strip(content: string, start: number, stop: number): DecoderStep {
  return {
    decodeChain: (tokens) =>
      tokens.map((token) => {
        const chars = Array.from(token);
        let s = 0;
        for (let i = 0; i < Math.min(start, chars.length); i++) {
          if (chars[i] === content) s = i + 1;
          else break;
        }
        let e = chars.length;
        for (let i = 0; i < stop && chars.length - i - 1 >= 0; i++) {
          const idx = chars.length - i - 1;
          if (chars[idx] === content) e = idx;
          else break;
        }
        return chars.slice(s, Math.max(s, e)).join('');
      }),
  };
}

/**
 * Builds the decoder chain of a `tokenizer.json` `decoder` (`null` → none).
 * @throws FileFormatError naming `source` for a decoder muse does not implement
 */
export function decoderFromJSON(json: unknown, source: string): DecoderStep[] | null {
  if (json === null || json === undefined) return null;
  const o = json as Record<string, unknown>;
  switch (o.type) {
    case 'ByteLevel':
      return [{ decodeChain: (tokens) => [utf8.decode(byteLevelToBytes(tokens))] }];
    case 'Metaspace': {
      const replacement = typeof o.replacement === 'string' ? o.replacement : '▁';
      const scheme = typeof o.prepend_scheme === 'string' ? o.prepend_scheme : o.add_prefix_space === false ? 'never' : 'always';
      return [
        {
          decodeChain: (tokens) =>
            tokens.map((t, i) => (i === 0 && scheme !== 'never' ? t.replaceAll(replacement, '') : t.replaceAll(replacement, ' '))),
        },
      ];
    }
    case 'Replace': {
      if (typeof o.content !== 'string') throw new FileFormatError(`${source}: Replace decoder needs a string "content"`);
      const re = patternRegex(o.pattern, source, 'Replace decoder');
      const content = o.content;
      return [{ decodeChain: (tokens) => tokens.map((t) => t.replace(re, content)) }];
    }
    case 'ByteFallback':
      return [byteFallback()];
    case 'Fuse':
      return [{ decodeChain: (tokens) => [tokens.join('')] }];
    case 'Strip':
      return [strip(typeof o.content === 'string' ? o.content : ' ', Number(o.start ?? 0), Number(o.stop ?? 0))];
    case 'Sequence': {
      if (!Array.isArray(o.decoders)) throw new FileFormatError(`${source}: Sequence decoder needs a "decoders" array`);
      return o.decoders.flatMap((d) => decoderFromJSON(d, source) ?? []);
    }
    default:
      throw new FileFormatError(`${source}: decoder ${JSON.stringify(o.type)} is not supported by muse here (supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence)`);
  }
}

/** Runs a decoder chain (or joins with spaces when there is none) and returns the text. */
export function runDecoder(chain: readonly DecoderStep[] | null, tokens: string[]): string {
  if (chain === null) return tokens.join(' ');
  for (const step of chain) tokens = step.decodeChain(tokens);
  return tokens.join('');
}

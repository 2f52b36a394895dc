/**
 * Post-processing: what `encode(text, {addSpecialTokens: true})` adds around
 * the model's tokens (Hugging Face `TemplateProcessing`, `BertProcessing`,
 * `RobertaProcessing`), and the byte-level offset trimming (`ByteLevel`
 * post-processor with `trim_offsets`). Only single-sequence templates are
 * used by muse; pair templates are kept in the JSON untouched.
 */
import { FileFormatError } from '../errors.js';

/** A special token inserted by the template: its id and text. */
export interface TemplateToken {
  id: number;
  token: string;
}

const BYTE_SPACE = 'Ġ';
const WHITE_SPACE = /^\p{White_Space}$/u;

function isSpaceLike(ch: string): boolean {
  return ch === BYTE_SPACE || WHITE_SPACE.test(ch);
}

/** The compiled post-processor of one tokenizer. */
export class PostProcessor {
  /** Tokens placed before the sequence (e.g. `[CLS]`). */
  readonly prefix: readonly TemplateToken[];
  /** Tokens placed after the sequence (e.g. `[SEP]`). */
  readonly suffix: readonly TemplateToken[];
  /** Byte-level offset trimming (`trim_offsets`), with the pre-tokenizer's `add_prefix_space`. */
  readonly trimOffsets: { addPrefixSpace: boolean } | null;
  private readonly json: object | null;

  constructor(prefix: TemplateToken[], suffix: TemplateToken[], trimOffsets: { addPrefixSpace: boolean } | null, json: object | null) {
    this.prefix = prefix;
    this.suffix = suffix;
    this.trimOffsets = trimOffsets;
    this.json = json;
  }

  /** No post-processing. */
  static none(): PostProcessor {
    return new PostProcessor([], [], null, null);
  }

  /** `[CLS] $A [SEP]` written as Hugging Face's `TemplateProcessing` (what BERT's `tokenizer.json` holds). */
  static bert(cls: TemplateToken, sep: TemplateToken): PostProcessor {
    const json = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls.token, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep.token, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls.token, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep.token, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep.token, type_id: 1 } },
      ],
      special_tokens: {
        [cls.token]: { id: cls.token, ids: [cls.id], tokens: [cls.token] },
        [sep.token]: { id: sep.token, ids: [sep.id], tokens: [sep.token] },
      },
    };
    return new PostProcessor([cls], [sep], null, json);
  }

  /** GPT-2's `ByteLevel` post-processor (adds nothing; optionally trims offsets). */
  static byteLevel(trimOffsets: boolean, addPrefixSpace: boolean): PostProcessor {
    const json = { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true };
    return new PostProcessor([], [], trimOffsets ? { addPrefixSpace } : null, json);
  }

  /**
   * Compiles a `post_processor` object of a `tokenizer.json`.
   * @param tokenToId resolves a special token's text when the JSON gives no id
   * @throws FileFormatError for an unknown type or a template naming an unknown token
   */
  static fromJSON(json: unknown, tokenToId: (t: string) => number | undefined, source: string): PostProcessor {
    if (json === null || json === undefined) return PostProcessor.none();
    const obj = json as Record<string, unknown>;
    const prefix: TemplateToken[] = [];
    const suffix: TemplateToken[] = [];
    let trim: { addPrefixSpace: boolean } | null = null;
    const lookup = (t: string): TemplateToken => {
      const id = tokenToId(t);
      if (id === undefined) throw new FileFormatError(`${source}: post_processor names token "${t}", which is not in the vocabulary`);
      return { id, token: t };
    };
    const add = (o: Record<string, unknown>): void => {
      switch (o.type) {
        case 'TemplateProcessing': {
          const single = o.single as Record<string, { id: string }>[] | undefined;
          const specials = (o.special_tokens ?? {}) as Record<string, { ids?: number[]; tokens?: string[] }>;
          if (!Array.isArray(single)) throw new FileFormatError(`${source}: TemplateProcessing has no "single" template`);
          let seen = false;
          for (const piece of single) {
            if (piece.Sequence) {
              seen = true;
              continue;
            }
            const name = piece.SpecialToken?.id;
            if (typeof name !== 'string') throw new FileFormatError(`${source}: TemplateProcessing piece ${JSON.stringify(piece)} is neither Sequence nor SpecialToken`);
            const spec = specials[name];
            const toks: TemplateToken[] =
              spec && Array.isArray(spec.ids) ? spec.ids.map((id, k) => ({ id, token: spec.tokens?.[k] ?? name })) : [lookup(name)];
            (seen ? suffix : prefix).push(...toks);
          }
          break;
        }
        case 'BertProcessing':
        case 'RobertaProcessing': {
          const cls = o.cls as [string, number];
          const sep = o.sep as [string, number];
          prefix.push({ token: cls[0], id: cls[1] });
          suffix.push({ token: sep[0], id: sep[1] });
          if (o.type === 'RobertaProcessing' && o.trim_offsets) trim = { addPrefixSpace: Boolean(o.add_prefix_space) };
          break;
        }
        case 'ByteLevel':
          if (o.trim_offsets) trim = { addPrefixSpace: Boolean(o.add_prefix_space) };
          break;
        case 'Sequence':
          for (const p of (o.processors ?? []) as Record<string, unknown>[]) add(p);
          break;
        default:
          throw new FileFormatError(`${source}: post_processor type "${String(o.type)}" is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)`);
      }
    };
    add(obj);
    return new PostProcessor(prefix, suffix, trim, obj);
  }

  /** Number of tokens added to one sequence when special tokens are on. */
  get numAdded(): number {
    return this.prefix.length + this.suffix.length;
  }

  toJSON(): object | null {
    return this.json;
  }

  /**
   * Trims leading/trailing spaces from byte-level tokens' offsets in place
   * (`process_offsets` of the Rust ByteLevel post-processor). `offsets` is flat.
   */
  trim(tokens: readonly string[], offsets: number[]): void {
    if (!this.trimOffsets) return;
    for (let i = 0; i < tokens.length; i++) {
      const tok = tokens[i];
      let lead = 0;
      while (lead < tok.length && isSpaceLike(tok[lead])) lead++;
      let trail = 0;
      while (trail < tok.length && isSpaceLike(tok[tok.length - 1 - trail])) trail++;
      let s = offsets[2 * i];
      let e = offsets[2 * i + 1];
      if (lead > 0) {
        const isFirst = i === 0 || s === 0;
        if (isFirst && this.trimOffsets.addPrefixSpace && lead === 1) lead = 0;
        s = Math.min(s + lead, e);
      }
      if (trail > 0 && e >= trail) e = Math.max(e - trail, s);
      offsets[2 * i] = s;
      offsets[2 * i + 1] = e;
    }
  }
}

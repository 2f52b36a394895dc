/**
 * Chat templates: the Jinja template a model ships to turn a conversation
 * into the text it was fine-tuned on (`tokenizer_config.json` →
 * `chat_template`, a string or a list of named templates; newer directories
 * put it in `chat_template.jinja` or `chat_template.json`; GGUF files in
 * `tokenizer.chat_template`). Rendered with `@huggingface/jinja` — the renderer
 * transformers.js uses — with the variables Hugging Face's
 * `apply_chat_template` passes: `messages`, `add_generation_prompt`, the
 * special tokens (`bos_token`, `eos_token`, …), `tools` and `documents`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { ConfigError, FileFormatError } from '../errors.js';
import { readJsonFile } from '../io/json.js';

/** One message of a conversation (OpenAI's and Hugging Face's shape). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string;
}

/** Options of {@link ChatTemplate.render}. */
export interface RenderOptions {
  /** End with the header of an assistant turn, so the model writes the reply (default true). */
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. `enable_thinking: false` for Qwen3, `tools`, `documents`). */
  variables?: Record<string, unknown>;
}

/** Where a template came from and the special tokens it may refer to. */
export interface ChatTemplateSource {
  /** The Jinja source. */
  template: string;
  /** File (or GGUF key) it was read from, for error messages. */
  source: string;
  /** Special-token strings passed to the template (`bos_token`, `eos_token`, `unk_token`, `pad_token`). */
  specialTokens?: Partial<Record<'bos_token' | 'eos_token' | 'unk_token' | 'pad_token', string>>;
}

/** A compiled chat template. */
export class ChatTemplate {
  readonly source: string;
  readonly text: string;
  private readonly compiled: Template;
  private readonly specials: Record<string, string>;

  /**
   * @throws FileFormatError naming the source when the template does not parse
   */
  constructor(t: ChatTemplateSource) {
    this.source = t.source;
    this.text = t.template;
    this.specials = { ...(t.specialTokens ?? {}) };
    try {
      this.compiled = new Template(t.template);
    } catch (err) {
      throw new FileFormatError(`${t.source}: the chat template does not parse (${(err as Error).message})`);
    }
  }

  /**
   * Renders a conversation to the prompt text the model expects.
   * @throws ConfigError when the template refuses the conversation (its `raise_exception`, e.g. roles not alternating) or fails
   */
  render(messages: readonly ChatMessage[], opts: RenderOptions = {}): string {
    const context: Record<string, unknown> = {
      bos_token: '',
      eos_token: '',
      unk_token: '',
      pad_token: '',
      ...this.specials,
      ...(opts.variables ?? {}),
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: opts.addGenerationPrompt ?? true,
    };
    try {
      return this.compiled.render(context);
    } catch (err) {
      throw new ConfigError(`the chat template of ${this.source} refused the conversation: ${(err as Error).message}`);
    }
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function readJSON(path: string): unknown {
  return readJsonFile(path);
}

function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

/**
 * Picks a template from a `chat_template` value: a string, or a list of
 * `{name, template}` (the one called `name`, else `default`).
 * @throws FileFormatError when the value is malformed or the named template is missing
 */
export function pickTemplate(value: unknown, source: string, name?: string): string {
  if (typeof value === 'string') {
    if (name !== undefined && name !== 'default') throw new FileFormatError(`${source} has a single chat template, not one named "${name}"`);
    return value;
  }
  if (Array.isArray(value)) {
    const entries = value.filter((e): e is { name: string; template: string } => isObject(e) && typeof e.name === 'string' && typeof e.template === 'string');
    const wanted = name ?? 'default';
    const hit = entries.find((e) => e.name === wanted);
    if (!hit) throw new FileFormatError(`${source} has no chat template named "${wanted}" (it has: ${entries.map((e) => e.name).join(', ') || 'none'})`);
    return hit.template;
  }
  throw new FileFormatError(`${source}: chat_template must be a string or a list of {name, template}`);
}

/**
 * The chat template of a model directory, or `undefined` when it has none:
 * `chat_template.jinja`, else `chat_template.json`, else `tokenizer_config.json`'s
 * `chat_template`; special tokens from `tokenizer_config.json`.
 * @param name which of several named templates (default `default`)
 * @throws FileFormatError naming the file when one is malformed
 */
export function readChatTemplate(dir: string, name?: string): ChatTemplateSource | undefined {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJSON(configPath) : {};
  if (!isObject(config)) throw new FileFormatError(`${configPath}: expected a JSON object`);
  const specialTokens: ChatTemplateSource['specialTokens'] = {};
  for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const) {
    const t = tokenText(config[k]);
    if (t !== undefined) specialTokens[k] = t;
  }
  const jinjaPath = join(dir, 'chat_template.jinja');
  if (existsSync(jinjaPath) && (name === undefined || name === 'default')) {
    return { template: readFileSync(jinjaPath, 'utf8'), source: jinjaPath, specialTokens };
  }
  const jsonPath = join(dir, 'chat_template.json');
  if (existsSync(jsonPath)) {
    const j = readJSON(jsonPath);
    if (isObject(j) && j.chat_template !== undefined) return { template: pickTemplate(j.chat_template, jsonPath, name), source: jsonPath, specialTokens };
  }
  if (config.chat_template !== undefined && config.chat_template !== null) {
    return { template: pickTemplate(config.chat_template, configPath, name), source: configPath, specialTokens };
  }
  return undefined;
}

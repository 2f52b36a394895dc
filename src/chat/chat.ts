/**
 * Chatting with a causal LM: its chat template, the ids that end an
 * assistant turn, and a session that keeps the conversation and streams each
 * reply. The prompt of every turn is the template rendered over the whole
 * conversation with `add_generation_prompt`, encoded without the tokenizer's
 * own special tokens (the template writes bos itself, as Hugging Face's
 * `apply_chat_template` then `encode(…, add_special_tokens=False)` does).
 */
import { statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { stream, type GenerationConfig, type GenerateOutput } from '../generate/index.js';
import { readGgufHeader } from '../io/gguf.js';
import type { LoadedCausalLM } from '../models/loaded.js';
import { chatTemplateFromGGUFMetadata, endOfTurnIdsFromGGUFMetadata } from '../tokenizers/gguf-tokenizer.js';
import { ChatTemplate, type ChatMessage, type ChatTemplateSource, readChatTemplate } from './template.js';

/** A causal LM ready to chat: the model, its template and the ids that end a turn. */
export interface ChatModel {
  loaded: LoadedCausalLM;
  template: ChatTemplate;
  /** Generation stops at any of these (generation_config.json's `eos_token_id`, one id or a list, and the tokenizer's eos). */
  endOfTurnIds: number[];
}

/** Options of {@link chatModel}. */
export interface ChatModelOptions {
  /** Use this Jinja template instead of the model's own. */
  template?: string;
  /** Which of several named templates in `tokenizer_config.json` (default `default`). */
  templateName?: string;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function asList(v: number | number[] | undefined): number[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * Prepares a loaded causal LM for chat: finds its chat template (model
 * directory files, or the GGUF file's `tokenizer.chat_template`) and its
 * end-of-turn ids.
 * @throws ConfigError when the model has no chat template (it was not fine-tuned for chat; pass a template or use plain generation)
 */
export function chatModel(loaded: LoadedCausalLM, opts: ChatModelOptions = {}): ChatModel {
  const specials = loaded.tokenizer.specialTokens;
  const tokenSpecials: ChatTemplateSource['specialTokens'] = {};
  if (specials.bos) tokenSpecials.bos_token = specials.bos.token;
  if (specials.eos) tokenSpecials.eos_token = specials.eos.token;
  if (specials.unk) tokenSpecials.unk_token = specials.unk.token;
  if (specials.pad) tokenSpecials.pad_token = specials.pad.token;
  const ids = new Set<number>(asList(loaded.generationConfig.eosTokenId));
  if (loaded.tokenizer.eosTokenId !== undefined) ids.add(loaded.tokenizer.eosTokenId);
  let found: ChatTemplateSource | undefined;
  if (isFile(loaded.dir) && loaded.dir.endsWith('.gguf')) {
    const meta = readGgufHeader(loaded.dir).metadata;
    const t = chatTemplateFromGGUFMetadata(meta);
    if (t !== undefined) found = { template: t, source: `${loaded.dir} (tokenizer.chat_template)` };
    for (const id of endOfTurnIdsFromGGUFMetadata(meta)) ids.add(id);
  } else {
    found = readChatTemplate(loaded.dir, opts.templateName);
  }
  if (opts.template !== undefined) found = { template: opts.template, source: 'the given chat template', specialTokens: found?.specialTokens };
  if (!found) {
    throw new ConfigError(
      `${loaded.dir} has no chat template (tokenizer_config.json "chat_template", chat_template.jinja, or a GGUF tokenizer.chat_template): ` +
        'the model was not fine-tuned for chat; use `muse generate` to continue text, or pass a template (--chat-template FILE)',
    );
  }
  const template = new ChatTemplate({ ...found, specialTokens: { ...tokenSpecials, ...(found.specialTokens ?? {}) } });
  return { loaded, template, endOfTurnIds: [...ids] };
}

/**
 * The generation config of a chat reply: the given one with generation
 * stopping at every end-of-turn id.
 */
export function chatGenerationConfig(chat: ChatModel, config: GenerationConfig): GenerationConfig {
  const c: GenerationConfig = { ...config };
  const ids = new Set<number>([...asList(config.eosTokenId), ...chat.endOfTurnIds]);
  if (ids.size > 0) c.eosTokenId = [...ids];
  return c;
}

/** The prompt text for the assistant's next turn. */
export function chatPrompt(chat: ChatModel, messages: readonly ChatMessage[], variables?: Record<string, unknown>): string {
  return chat.template.render(messages, { addGenerationPrompt: true, variables });
}

/** A streamed reply: text pieces, then `output` (ids, finish reason) once iterated. */
export interface ChatReply extends AsyncIterable<string> {
  readonly output: GenerateOutput | null;
}

/**
 * A conversation kept in memory: `send()` adds the user's message, streams
 * the assistant's reply and adds it to the history.
 */
export class ChatSession {
  readonly messages: ChatMessage[] = [];

  constructor(
    readonly chat: ChatModel,
    opts: { system?: string } = {},
  ) {
    if (opts.system !== undefined && opts.system !== '') this.messages.push({ role: 'system', content: opts.system });
  }

  /** Forgets the conversation (the system message stays). */
  reset(): void {
    this.messages.splice(this.messages[0]?.role === 'system' ? 1 : 0);
  }

  /**
   * Sends a user message and streams the reply; the reply joins the history when the stream ends.
   * @throws ConfigError for bad generation options or a template that refuses the conversation
   */
  send(content: string, config: GenerationConfig = {}, opts: { signal?: AbortSignal; onWarning?: (m: string) => void } = {}): ChatReply {
    const messages = [...this.messages, { role: 'user', content }];
    const prompt = chatPrompt(this.chat, messages);
    const { loaded } = this.chat;
    const s = stream(loaded.model, loaded.tokenizer, prompt, chatGenerationConfig(this.chat, config), { signal: opts.signal, onWarning: opts.onWarning });
    const session = this;
    async function* pieces(): AsyncGenerator<string> {
      let reply = '';
      for await (const p of s) {
        reply += p;
        yield p;
      }
      session.messages.push({ role: 'user', content }, { role: 'assistant', content: reply.trim() });
    }
    const it = pieces();
    return {
      [Symbol.asyncIterator]: () => it,
      get output() {
        return s.output;
      },
    };
  }
}

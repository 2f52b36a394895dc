/** The playground's calls to the muse server (same origin). */

/** A JSON error body of the server: `{ error: { message } }`. */
export async function errorMessage(res: Response): Promise<string> {
  try {
    const j = (await res.json()) as { error?: { message?: string } };
    return j.error?.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

const KEY_STORE = 'muse-api-key';

/**
 * fetch with the server's API key (`muse serve --api-key`), kept in this
 * browser's localStorage; on a 401 the page asks for the key once and retries.
 */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const withKey = (): RequestInit => {
    const key = localStorage.getItem(KEY_STORE);
    return { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...(key ? { authorization: `Bearer ${key}` } : {}) } };
  };
  const res = await fetch(path, withKey());
  if (res.status !== 401) return res;
  const key = window.prompt('This muse server needs its API key (muse serve --api-key):');
  if (!key) return res;
  localStorage.setItem(KEY_STORE, key.trim());
  return fetch(path, withKey());
}

/** POST JSON and parse the JSON answer; throws Error(message) on an error status. */
export async function postJSON<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  if (!res.ok) throw new Error(await errorMessage(res));
  return (await res.json()) as T;
}

/** GET JSON. */
export async function getJSON<T>(path: string): Promise<T> {
  const res = await call(path);
  if (!res.ok) throw new Error(await errorMessage(res));
  return (await res.json()) as T;
}

/**
 * POST a streaming request and call `onEvent` with each server-sent event's
 * parsed `data:` payload as it arrives.
 */
export async function postSSE(path: string, body: unknown, onEvent: (data: Record<string, unknown>) => void, signal?: AbortSignal): Promise<void> {
  const res = await call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  if (!res.ok || !res.body) throw new Error(await errorMessage(res));
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split('\n')) {
        // OpenAI-style streams end with `data: [DONE]`, which is not JSON.
        if (line.startsWith('data: ') && line !== 'data: [DONE]') onEvent(JSON.parse(line.slice(6)) as Record<string, unknown>);
      }
    }
  }
}

/** `GET /api/models` entry. */
export interface ModelInfo {
  name: string;
  kind: 'causal-lm' | 'masked-lm';
  contextLength?: number;
  generationConfig?: Record<string, unknown>;
  /** Causal LMs with a chat template (served by /v1/chat/completions). */
  chat?: boolean;
}

/** `POST /api/attention` answer. */
export interface AttentionAnswer {
  model: string;
  tokens: string[];
  nLayer: number;
  nHead: number;
  seqLen: number;
  /** `[layer][head]` → flat `[T, T]` row-major (query row, key column). */
  weights: number[][][];
}

/** `GET /api/ratings/summary` group. */
export interface SummaryGroup {
  model: string;
  settings: Record<string, unknown>;
  count: number;
  mean: number;
  low: number | null;
  high: number | null;
}

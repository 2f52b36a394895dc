/**
 * JSON schemas of the request bodies (validated by fastify's Ajv before a
 * handler runs; unknown fields are errors, so a typo such as `max_token` is
 * reported instead of silently ignored). Limits come from the server options.
 */
import { POEM_FORMS, TONE_MODES } from '../generate/index.js';

/** Server-side limits that appear in the schemas. */
export interface SchemaLimits {
  /** Largest max_tokens / maxNewTokens a request may ask for. */
  maxTokens: number;
  /** Longest prompt, in characters. */
  maxPromptChars: number;
  /** Largest n / numReturnSequences / numBeams. */
  maxN: number;
}

const stopSchema = {
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 200 },
    { type: 'array', items: { type: 'string', minLength: 1, maxLength: 200 }, maxItems: 4 },
    { type: 'null' },
  ],
};

/**
 * The sampling and streaming fields that `POST /v1/completions` and
 * `POST /v1/chat/completions` share (OpenAI names, plus vLLM-style top_k,
 * min_p and repetition_penalty), as JSON-schema properties; `null` means unset.
 */
export function openAISamplingProperties(l: SchemaLimits): Record<string, object> {
  return {
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1 },
    top_k: { type: ['integer', 'null'], minimum: 0 },
    min_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    repetition_penalty: { type: ['number', 'null'], exclusiveMinimum: 0 },
    n: { type: ['integer', 'null'], minimum: 1, maximum: l.maxN },
    stop: stopSchema,
    seed: { type: ['integer', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    stream: { type: ['boolean', 'null'] },
    stream_options: {
      anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, properties: { include_usage: { type: 'boolean' } } }],
    },
  };
}

/** `POST /v1/completions`: the OpenAI legacy completions subset (plus vLLM-style top_k, min_p, repetition_penalty). */
export function completionsSchema(l: SchemaLimits): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['prompt'],
    properties: {
      model: { type: 'string', maxLength: 200 },
      prompt: {
        anyOf: [
          { type: 'string', maxLength: l.maxPromptChars },
          { type: 'array', items: { type: 'string', maxLength: l.maxPromptChars }, minItems: 1, maxItems: 16 },
        ],
      },
      max_tokens: { type: ['integer', 'null'], minimum: 1, maximum: l.maxTokens },
      ...openAISamplingProperties(l),
      echo: { type: ['boolean', 'null'] },
      user: { type: 'string', maxLength: 256 },
      // Accepted at their neutral values only, so clients that always send them work.
      logprobs: { type: 'null' },
      suffix: { type: 'null' },
      best_of: { type: ['integer', 'null'], const: 1 },
      frequency_penalty: { type: ['number', 'null'], const: 0 },
      presence_penalty: { type: ['number', 'null'], const: 0 },
      logit_bias: { anyOf: [{ type: 'null' }, { type: 'object', maxProperties: 0 }] },
    },
  };
}

/** `POST /api/generate`: every muse decoding option (HF GenerationConfig names, camelCase). */
export function generateSchema(l: SchemaLimits): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['prompt'],
    properties: {
      model: { type: 'string', maxLength: 200 },
      prompt: { type: 'string', maxLength: l.maxPromptChars },
      stream: { type: 'boolean' },
      maxNewTokens: { type: 'integer', minimum: 1, maximum: l.maxTokens },
      minNewTokens: { type: 'integer', minimum: 0, maximum: l.maxTokens },
      doSample: { type: 'boolean' },
      temperature: { type: 'number', minimum: 0, maximum: 10 },
      topK: { type: 'integer', minimum: 0 },
      topP: { type: 'number', minimum: 0, maximum: 1 },
      minP: { type: 'number', minimum: 0, maximum: 1 },
      typicalP: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      repetitionPenalty: { type: 'number', exclusiveMinimum: 0, maximum: 10 },
      noRepeatNgramSize: { type: 'integer', minimum: 0, maximum: 64 },
      numBeams: { type: 'integer', minimum: 1, maximum: l.maxN },
      lengthPenalty: { type: 'number' },
      earlyStopping: { anyOf: [{ type: 'boolean' }, { const: 'never' }] },
      numReturnSequences: { type: 'integer', minimum: 1, maximum: l.maxN },
      stopStrings: { anyOf: [{ type: 'string', minLength: 1, maxLength: 200 }, { type: 'array', items: { type: 'string', minLength: 1, maxLength: 200 }, maxItems: 8 }] },
      seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      acrostic: { type: 'string', minLength: 1, maxLength: 16 },
      form: { enum: [...POEM_FORMS, 'free'] },
      rhyme: { type: 'boolean' },
      tones: { enum: [...TONE_MODES] },
    },
  };
}

/** `POST /api/fill-mask`. */
export const fillMaskSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: {
    model: { type: 'string', maxLength: 200 },
    text: { type: 'string', minLength: 1, maxLength: 2000 },
    topK: { type: 'integer', minimum: 1, maximum: 50 },
  },
};

/** `POST /api/attention`. */
export function attentionSchema(l: SchemaLimits): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: {
      model: { type: 'string', maxLength: 200 },
      text: { type: 'string', minLength: 1, maxLength: l.maxPromptChars * 2 },
    },
  };
}

/** `POST /api/ratings`. */
export const ratingSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'prompt', 'output', 'rating'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 200 },
    settings: { type: 'object' },
    prompt: { type: 'string', maxLength: 20000 },
    output: { type: 'string', maxLength: 50000 },
    rating: { type: 'integer', minimum: 1, maximum: 5 },
    comment: { type: ['string', 'null'], maxLength: 2000 },
  },
};

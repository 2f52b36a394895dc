/**
 * Chat: chat templates rendered with `@huggingface/jinja`, end-of-turn ids,
 * and sessions that keep a conversation (see docs/chat.md).
 */
export { ChatTemplate, pickTemplate, readChatTemplate, type ChatMessage, type ChatTemplateSource, type RenderOptions } from './template.js';
export { ChatSession, chatGenerationConfig, chatModel, chatPrompt, type ChatModel, type ChatModelOptions, type ChatReply } from './chat.js';

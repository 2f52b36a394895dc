// The latent-variable family: sentence VAE, MLP VAE, autoencoder, GRU, and their task entry points.
export { SentenceVAE, makeSentenceBatch, type SentenceVAEConfig, type SentenceBatch } from './sentence-vae.js';
export { VAE, reparameterize, gaussianKL, klObjective, klWeight, activeUnits, type VAEConfig, type KLSchedule } from './vae.js';
export { Autoencoder, type AutoencoderConfig } from './autoencoder.js';
export { GRU } from './gru.js';
export { extractPoemLines, isWellFormedLine, LINE_END_PUNCTUATION } from './poem-lines.js';
export { loadVAERecipe, type SentenceVAERecipe } from './sentence-vae-recipe.js';
export { sampleLines, encodeLinesToMu, interpolateLines, reconstructLine, type VAEDecodeOptions } from './sentence-vae-sample.js';
export {
  trainSentenceVAE,
  evaluateSentenceVAE,
  prepareSentenceData,
  type SentenceVAEStats,
  type SentenceData,
  type TrainSentenceVAEOptions,
  type VAEMetricsRecord,
} from './sentence-vae-train.js';
export { trainVectorAutoencoder, encodeTexts, nearestNeighbors, readDocuments, type VectorizerSpec, type TrainVectorAutoencoderOptions } from './autoencode.js';
export { loadSentenceVAE, saveSentenceVAEDir, loadVectorAutoencoder, saveVectorAutoencoderDir, sentenceVAEFamily, vectorAutoencoderFamily } from './family.js';

import { InvalidInputError } from '../model/errors.ts';

/** A dense decoder-only text LLM as the planner needs it. */
export interface TextModelSpec {
  readonly id: string;
  readonly name: string;
  readonly params: number;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffn: number;
  readonly vocab: number;
  /** The tokenizer this model uses (see TOKENIZERS). */
  readonly tokenizer: string;
  readonly source: string;
}

/** Tokens a tokenizer spends per character of running text, by language. */
export interface TokenizerSpec {
  readonly id: string;
  readonly tokensPerChineseChar: number;
  readonly tokensPerEnglishChar: number;
  readonly source: string;
}

/**
 * Chinese: cc100-zh measurements (tokenizer-arena README, shared/reference/video-models.md).
 * English: about 4 characters per token on English prose for ~100k-vocabulary BPE
 * tokenizers (OpenAI tokenizer guidance); the 32k Llama-2 vocabulary spends a little more.
 */
export const TOKENIZERS: readonly TokenizerSpec[] = [
  { id: 'llama-2', tokensPerChineseChar: 1.43, tokensPerEnglishChar: 0.27, source: 'tokenizer-arena (cc100-zh-Hans): llama 0.7 chars/token' },
  { id: 'llama-3', tokensPerChineseChar: 0.81, tokensPerEnglishChar: 0.25, source: 'tokenizer-arena (cc100-zh-Hans): llama3 1.24 chars/token' },
  { id: 'qwen', tokensPerChineseChar: 0.64, tokensPerEnglishChar: 0.25, source: 'tokenizer-arena (cc100-zh): Qwen 0.64 tokens/char; Alibaba Cloud: 1 token ≈ 1.5–1.8 Chinese characters' },
  { id: 'deepseek', tokensPerChineseChar: 0.6, tokensPerEnglishChar: 0.3, source: 'DeepSeek API docs, token usage: 1 Chinese character ≈ 0.6 token, 1 English character ≈ 0.3 token' },
];

const B = 1e9;

export const TEXT_MODELS: readonly TextModelSpec[] = [
  {
    id: 'llama-2-7b', name: 'Llama 2 7B', params: 6.74 * B, hidden: 4096, layers: 32, heads: 32, kvHeads: 32, ffn: 11008, vocab: 32000,
    tokenizer: 'llama-2', source: 'meta-llama/Llama-2-7b-hf config.json (hidden 4096, 32 layers, 32 heads, 32 KV heads, intermediate 11008, vocab 32000)',
  },
  {
    id: 'qwen2.5-7b', name: 'Qwen2.5 7B', params: 7.61 * B, hidden: 3584, layers: 28, heads: 28, kvHeads: 4, ffn: 18944, vocab: 152064,
    tokenizer: 'qwen', source: 'Qwen/Qwen2.5-7B config.json (hidden 3584, 28 layers, 28 heads, 4 KV heads, intermediate 18944, vocab 152064); 7.61B parameters (model card)',
  },
  {
    id: 'llama-3-70b', name: 'Llama 3 70B', params: 70.6 * B, hidden: 8192, layers: 80, heads: 64, kvHeads: 8, ffn: 28672, vocab: 128256,
    tokenizer: 'llama-3', source: 'meta-llama/llama-models models/sku_list.py (dim 8192, 80 layers, 64 heads, 8 KV heads, vocab 128256, ffn multiplier 1.3 → 28672)',
  },
  {
    id: 'qwen2.5-72b', name: 'Qwen2.5 72B', params: 72.7 * B, hidden: 8192, layers: 80, heads: 64, kvHeads: 8, ffn: 29568, vocab: 152064,
    tokenizer: 'qwen', source: 'Qwen/Qwen2.5-72B config.json (hidden 8192, 80 layers, 64 heads, 8 KV heads, intermediate 29568, vocab 152064); 72.7B parameters (model card)',
  },
  {
    id: 'intellect-1-10b', name: 'INTELLECT-1 10B', params: 10.21 * B, hidden: 4096, layers: 42, heads: 32, kvHeads: 8, ffn: 14336, vocab: 128256,
    tokenizer: 'llama-3', source: 'PrimeIntellect-ai/prime src/zeroband/models/llama/__init__.py llama3_configs["10B"] (dim 4096, 42 layers, 32 heads, 8 KV heads, ffn multiplier 1.3 of 1024 → 14336); Llama-3 tokenizer (vocab 128256); 10.21B parameters counted from that architecture (untied embeddings); arXiv 2412.01152',
  },
  {
    id: 'opendiloco-1.1b', name: 'OpenDiLoCo 1.1B (Llama)', params: 1.1 * B, hidden: 2048, layers: 22, heads: 32, kvHeads: 4, ffn: 5632, vocab: 32000,
    tokenizer: 'llama-2', source: 'PrimeIntellect-ai/OpenDiloco open_diloco/configs/config_1b.json (n_embd 2048, 22 layers, 32 heads, 4 query groups, intermediate 5632); Mistral-7B tokenizer (vocab 32000; its per-character rates approximated by llama-2\'s); 1.10B parameters counted; arXiv 2407.07852',
  },
];

export function findTextModel(id: string): TextModelSpec {
  const model = TEXT_MODELS.find((m) => m.id === id.toLowerCase());
  if (!model) throw new InvalidInputError('text-model', `unknown text model "${id}"`, TEXT_MODELS.map((m) => m.id).join(', '));
  return model;
}

export function findTokenizer(id: string): TokenizerSpec {
  const tok = TOKENIZERS.find((t) => t.id === id);
  if (!tok) throw new InvalidInputError('tokenizer', `unknown tokenizer "${id}"`, TOKENIZERS.map((t) => t.id).join(', '));
  return tok;
}

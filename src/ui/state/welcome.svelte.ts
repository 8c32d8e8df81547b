// The first-run welcome card: what TabZero will download (the default model's size), the GPU memory
// a default run needs (estimated from the model's config, as the Model panel does), and what to
// expect. Dismissed once, remembered in localStorage.
import { parseQwen2Config } from '../../model/config';
import { parameterCount, trainingPlan } from '../../model/plan';
import { DEFAULT_REPO, TRAINING_SHAPE } from './model.svelte';
import { localStore } from './train-config.svelte';

export const WELCOME_KEY = 'tabzero.welcome-dismissed';

/** Qwen/Qwen2.5-1.5B-Instruct's config.json (the fields the estimate reads). */
const DEFAULT_MODEL_CONFIG = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu', hidden_size: 1536, intermediate_size: 8960,
  num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768,
  rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, use_sliding_window: false, sliding_window: 32768,
  max_window_layers: 21, bos_token_id: 151643, eos_token_id: 151645, torch_dtype: 'bfloat16',
};

/** tokenizer.json, vocab.json, merges.txt and configs: about 7 MB */
const TOKENIZER_BYTES = 7_000_000;

export interface WelcomeFacts {
  repo: string;
  downloadBytes: number;
  parameters: number;
  /** GPU bytes for a default GRPO run with 4-bit projections */
  trainingBytes: number;
}

export function welcomeFacts(): WelcomeFacts {
  const config = parseQwen2Config(DEFAULT_MODEL_CONFIG);
  const plan = trainingPlan(config, { linearFormat: 'q4', embedFormat: 'bf16' }, TRAINING_SHAPE);
  const parameters = parameterCount(config);
  // the checkpoint is bf16: two bytes a parameter (≈ 3.1 GB for 1.54 B parameters)
  return { repo: DEFAULT_REPO, downloadBytes: 2 * parameters + TOKENIZER_BYTES, parameters, trainingBytes: plan.total };
}

export class WelcomeState {
  dismissed = $state(false);
  readonly facts = welcomeFacts();

  constructor(private store = localStore()) {
    this.dismissed = store?.getItem(WELCOME_KEY) === '1';
  }

  dismiss(): void {
    this.dismissed = true;
    try {
      this.store?.setItem(WELCOME_KEY, '1');
    } catch {
      // storage disabled: the card comes back next time
    }
  }
}

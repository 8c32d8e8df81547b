// Typed errors of the model layer (config, checkpoint completeness, tokenizer). Each carries a
// `hint` for the user, so it crosses the worker boundary as plain {name, message, hint}.

/** Base of model-layer errors: `message` says what failed with the numbers, `hint` what to do. */
export class ModelError extends Error {
  override name = 'ModelError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/** config.json is malformed or describes a model TabZero cannot run. */
export class ConfigError extends ModelError {
  override name = 'ConfigError';
}

/** A checkpoint lacks a tensor the config requires, or a tensor has the wrong shape or dtype. */
export class CheckpointError extends ModelError {
  override name = 'CheckpointError';
}

/** tokenizer.json / tokenizer_config.json are malformed or lack what TabZero needs. */
export class TokenizerError extends ModelError {
  override name = 'TokenizerError';
}

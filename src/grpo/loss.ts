// The GRPO loss head (TRL GRPOTrainer semantics): per-token clipped surrogate + β·k3 KL, four
// normalisations, and dLoss/dlogp for backward. It runs on the CPU: a micro-batch has B·T values
// (≈2 K for G = 8, 256 completion tokens), so reading log-probs back costs 4 bytes per token while
// the GPU keeps everything of vocabulary or hidden size. The function is the one the fixture tests
// pin to TRL's numbers (src/reference/grpo_loss.ts): what is tested is what trains.
export { grpoLossReference as grpoLoss, LOSS_TYPES, type GrpoLossInputs, type GrpoLossParams, type GrpoLossResult, type LossType } from '../reference/grpo_loss';

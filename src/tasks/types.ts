// Types shared by the task generators and datasets: chat messages (what a chat template renders)
// and Countdown tasks (the rows of TinyZero's Countdown-Tasks-3to4: {nums, target}).

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One Countdown problem: reach `target` using each of `nums` exactly once with + - * /. */
export interface CountdownTask {
  nums: number[];
  target: number;
}

/** Raised for bad task options or inputs; `hint` says what to change. */
export class TaskError extends Error {
  override name = 'TaskError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

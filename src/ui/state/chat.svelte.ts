// Chat panel state: the conversation (each turn: the user's message and the reply of the base model,
// of the active adapter, or both side by side — generated one after the other), sampling settings,
// streaming replies from token events, stop. Each column's history holds its own replies.
import type { WorkerClient } from '../worker-client';
import type { ChatMessage, SamplingSpec } from '../../worker/protocol';
import { toErrorInfo, type ErrorInfo } from '../../gpu/errors';
import { DEFAULT_SAMPLING } from '../../worker/chat';

export type Side = 'base' | 'adapter';

export interface Reply {
  text: string;
  status: 'waiting' | 'streaming' | 'done' | 'stopped' | 'error';
  tokens: number;
  seconds: number;
  error: ErrorInfo | null;
}

export interface Turn {
  user: string;
  base: Reply | null;
  adapter: Reply | null;
}


/** Settings as typed, made safe: empty or out-of-range fields fall back to the nearest allowed value. */
export function cleanSampling(s: SamplingSpec): SamplingSpec {
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const int = (v: unknown, d: number, lo: number) => Math.max(lo, Math.round(num(v, d)));
  return {
    temperature: Math.min(2, Math.max(0, num(s.temperature, DEFAULT_SAMPLING.temperature))),
    topP: Math.min(1, Math.max(0.01, num(s.topP, 1))),
    topK: int(s.topK, 0, 0),
    minP: Math.min(0.99, Math.max(0, num(s.minP, 0))),
    seed: int(s.seed, 0, 0) >>> 0,
    maxNewTokens: Math.min(4096, int(s.maxNewTokens, DEFAULT_SAMPLING.maxNewTokens, 1)),
  };
}

export class ChatState {
  input = $state('');
  system = $state('');
  sampling = $state<SamplingSpec>({ ...DEFAULT_SAMPLING });
  turns = $state<Turn[]>([]);
  busy = $state(false);
  /** the worker's active adapter (adapter-active events), null with none */
  adapterName = $state<string | null>(null);
  /** which model answers: both only while an adapter is active */
  mode = $state<'base' | 'adapter' | 'both'>('base');
  private stopping = false;

  constructor(private client: WorkerClient) {
    client.subscribe((e) => {
      if (e.type !== 'adapter-active') return;
      this.adapterName = e.name;
      this.mode = e.name ? 'both' : 'base';
    });
  }

  get sides(): Side[] {
    if (!this.adapterName) return ['base'];
    return this.mode === 'both' ? ['base', 'adapter'] : [this.mode];
  }

  async send(): Promise<void> {
    const text = this.input.trim();
    if (!text || this.busy) return;
    const sides = this.sides;
    const fresh = (): Reply => ({ text: '', status: 'waiting', tokens: 0, seconds: 0, error: null });
    this.turns.push({ user: text, base: sides.includes('base') ? fresh() : null, adapter: sides.includes('adapter') ? fresh() : null });
    this.input = '';
    this.busy = true;
    this.stopping = false;
    const i = this.turns.length - 1;
    try {
      for (const side of sides) {
        const reply = this.turns[i][side]!;
        if (this.stopping) reply.status = 'stopped';
        else await this.generate(i, side, reply);
      }
    } finally {
      this.busy = false;
    }
  }

  /** The conversation as one column saw it: system, earlier turns with that column's replies, this message. */
  messages(upTo: number, side: Side): ChatMessage[] {
    const out: ChatMessage[] = this.system.trim() ? [{ role: 'system', content: this.system.trim() }] : [];
    for (let t = 0; t <= upTo; t++) {
      const turn = this.turns[t];
      out.push({ role: 'user', content: turn.user });
      const r = turn[side];
      if (t < upTo && r && r.text) out.push({ role: 'assistant', content: r.text });
    }
    return out;
  }

  private async generate(i: number, side: Side, reply: Reply): Promise<void> {
    reply.status = 'streaming';
    try {
      const done = await this.client.request(
        { type: 'generate', messages: this.messages(i, side), sampling: cleanSampling({ ...this.sampling }), adapter: side === 'adapter' },
        'generate-done',
        (e) => { if (e.type === 'token') reply.text += e.text; },
      );
      reply.tokens = done.tokens;
      reply.seconds = done.seconds;
      reply.status = done.finished || !this.stopping ? 'done' : 'stopped';
    } catch (e) {
      reply.status = 'error';
      reply.error = toErrorInfo(e);
    }
  }

  async stop(): Promise<void> {
    if (!this.busy) return;
    this.stopping = true;
    await this.client.request({ type: 'stop-generate' }, 'ok').catch(() => undefined);
  }

  clear(): void {
    if (!this.busy) this.turns = [];
  }
}

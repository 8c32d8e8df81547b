// ChatState against a fake worker client: one column without an adapter; with one, the same message
// goes to the base model then the adapter (adapter: false, then true), each column keeping its own
// history; Stop during the first reply skips the second; the settings are cleaned before sending.
import { describe, expect, it } from 'vitest';
import { ChatState, cleanSampling } from '../../src/ui/state/chat.svelte';
import type { WorkerClient } from '../../src/ui/worker-client';
import type { Command, Event } from '../../src/worker/protocol';

type Sent = Extract<Command, { type: 'generate' }>;

/** Answers generate with two token events and generate-done; remembers what was sent. */
function fakeClient(opts: { onGenerate?: (c: Sent) => void } = {}) {
  const sent: Command[] = [];
  const listeners = new Set<(e: Event) => void>();
  let id = 1;
  const client = {
    subscribe(fn: (e: Event) => void) { listeners.add(fn); return () => listeners.delete(fn); },
    async request(cmd: Omit<Command, 'id'>, answer: string, onEvent?: (e: Event) => void): Promise<Event> {
      const c = { ...cmd, id: id++ } as Command;
      sent.push(c);
      if (c.type === 'generate') {
        opts.onGenerate?.(c);
        const who = c.adapter ? 'A' : 'B';
        onEvent?.({ type: 'token', id: c.id, text: `${who}1` });
        onEvent?.({ type: 'token', id: c.id, text: `${who}2` });
        return { type: 'generate-done', id: c.id, tokens: 2, seconds: 0.5, finished: true };
      }
      expect(answer).toBe('ok');
      return { type: 'ok', id: c.id };
    },
    emit(e: Event) { for (const fn of listeners) fn(e); },
  };
  return { client, sent, asClient: client as unknown as WorkerClient };
}

describe('ChatState', () => {
  it('without an adapter: one base reply, streamed', async () => {
    const f = fakeClient();
    const chat = new ChatState(f.asClient);
    chat.input = '  Hello  ';
    await chat.send();
    expect(chat.turns).toHaveLength(1);
    expect(chat.turns[0]).toMatchObject({ user: 'Hello', base: { text: 'B1B2', status: 'done', tokens: 2 }, adapter: null });
    expect(f.sent).toMatchObject([{ type: 'generate', adapter: false, messages: [{ role: 'user', content: 'Hello' }] }]);
    expect(chat.input).toBe('');
  });

  it('with an adapter: base then adapter, each with its own history and the system prompt', async () => {
    const f = fakeClient();
    const chat = new ChatState(f.asClient);
    f.client.emit({ type: 'adapter-active', id: 0, name: 'countdown-r16', r: 16, alpha: 16, targets: ['q_proj'] });
    expect(chat.mode).toBe('both');
    chat.system = 'Be brief.';
    chat.input = 'One';
    await chat.send();
    chat.input = 'Two';
    await chat.send();
    const gens = f.sent.filter((c): c is Sent => c.type === 'generate');
    expect(gens.map((g) => g.adapter)).toEqual([false, true, false, true]);
    expect(gens[3].messages).toEqual([
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'One' }, { role: 'assistant', content: 'A1A2' }, { role: 'user', content: 'Two' },
    ]);
    expect(gens[2].messages[2]).toEqual({ role: 'assistant', content: 'B1B2' });
    chat.mode = 'adapter';
    chat.input = 'Three';
    await chat.send();
    expect(chat.turns[2]).toMatchObject({ base: null, adapter: { status: 'done' } });
    f.client.emit({ type: 'adapter-active', id: 0, name: null, r: 0, alpha: 0, targets: [] });
    expect(chat.sides).toEqual(['base']);
  });

  it('Stop during the base reply skips the adapter reply', async () => {
    let chat: ChatState | null = null;
    const f = fakeClient({ onGenerate: (c) => { if (!c.adapter) void chat!.stop(); } });
    chat = new ChatState(f.asClient);
    f.client.emit({ type: 'adapter-active', id: 0, name: 'x', r: 4, alpha: 4, targets: [] });
    chat.input = 'Go';
    await chat.send();
    expect(f.sent.map((c) => c.type)).toEqual(['generate', 'stop-generate']);
    expect(chat.turns[0].adapter?.status).toBe('stopped');
    expect(chat.busy).toBe(false);
  });

  it('cleans the sampling settings as typed', () => {
    expect(cleanSampling({ temperature: -1, topP: 5, topK: 2.6, minP: Number.NaN, seed: -3, maxNewTokens: 0 })).toEqual({ temperature: 0, topP: 1, topK: 3, minP: 0, seed: 0, maxNewTokens: 1 });
    expect(cleanSampling({ temperature: 0.7, topP: 0.8, topK: 20, minP: 0.05, seed: 42, maxNewTokens: 100000 })).toMatchObject({ maxNewTokens: 4096, minP: 0.05 });
  });
});

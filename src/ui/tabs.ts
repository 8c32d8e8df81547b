// The app's tabs, in order, and the URL hash that opens one (#train → 'train').
export const TABS = [
  { id: 'model', label: 'Model' },
  { id: 'task', label: 'Task & Rewards' },
  { id: 'train', label: 'Train' },
  { id: 'dashboard', label: 'Dashboard' },
  { id: 'samples', label: 'Samples' },
  { id: 'playground', label: 'Playground' },
  { id: 'chat', label: 'Chat' },
  { id: 'adapters', label: 'Adapters' },
  { id: 'gpu', label: 'GPU' },
] as const;

export type TabId = (typeof TABS)[number]['id'];

export function tabFromHash(hash: string): TabId | null {
  const id = hash.replace(/^#\/?/, '');
  return TABS.find((t) => t.id === id)?.id ?? null;
}

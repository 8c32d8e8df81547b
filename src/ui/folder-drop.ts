// Files of a dropped folder (or of dropped loose files), read through the File and Directory Entries
// API (webkitGetAsEntry: every current browser). The File objects stay disk-backed: nothing is read here.

interface Entry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  file?(ok: (f: File) => void, fail: (e: unknown) => void): void;
  createReader?(): { readEntries(ok: (es: Entry[]) => void, fail: (e: unknown) => void): void };
}

async function readAll(dir: Entry): Promise<Entry[]> {
  const reader = dir.createReader!();
  const out: Entry[] = [];
  for (;;) {
    const batch = await new Promise<Entry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) return out; // readEntries returns at most 100 at a time
    out.push(...batch);
  }
}

/** Files directly in the folder (a model's files are; sub-folders such as original/ are skipped). */
async function filesOf(entry: Entry, depth: number): Promise<File[]> {
  if (entry.isFile) return [await new Promise<File>((ok, fail) => entry.file!(ok, fail))];
  if (!entry.isDirectory || depth > 0) return [];
  const kids = await readAll(entry);
  return (await Promise.all(kids.map((k) => filesOf(k, depth + 1)))).flat();
}

/** The dropped folder's files and name; loose files are taken as they are. */
export async function filesFromDrop(dt: DataTransfer): Promise<{ files: File[]; name: string }> {
  const entries = [...dt.items]
    .map((it) => (it.kind === 'file' ? (it.webkitGetAsEntry() as unknown as Entry | null) : null))
    .filter((e): e is Entry => e !== null);
  const dir = entries.find((e) => e.isDirectory);
  if (dir) return { files: await filesOf(dir, 0), name: dir.name };
  return { files: [...dt.files], name: 'dropped files' };
}

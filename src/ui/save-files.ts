// Saving bytes the user asked for: through the File System Access pickers where the browser has them
// (a save dialog for one file, a folder for several), else a download through an <a download> blob URL.
// A cancelled picker resolves to false; nothing is written.

export interface FileToSave {
  name: string;
  bytes: Uint8Array;
  type?: string;
}

interface PickerWindow {
  showSaveFilePicker?: (o: { suggestedName: string; types?: { description: string; accept: Record<string, string[]> }[] }) => Promise<FileSystemFileHandle>;
  showDirectoryPicker?: (o: { mode: 'readwrite'; id?: string }) => Promise<FileSystemDirectoryHandle>;
}

const isAbort = (e: unknown): boolean => e instanceof DOMException && e.name === 'AbortError';

function blobOf(f: FileToSave): Blob {
  return new Blob([f.bytes as Uint8Array<ArrayBuffer>], { type: f.type ?? 'application/octet-stream' });
}

/** Starts a browser download of one file (no dialog in most browsers). */
export function downloadFile(f: FileToSave): void {
  const url = URL.createObjectURL(blobOf(f));
  const a = document.createElement('a');
  a.href = url;
  a.download = f.name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function writeHandle(h: FileSystemFileHandle, f: FileToSave): Promise<void> {
  const w = await h.createWritable();
  await w.write(blobOf(f));
  await w.close();
}

/** One file: a save dialog where available, else a download. False when the user cancelled. */
export async function saveFile(f: FileToSave, win: PickerWindow = window as unknown as PickerWindow): Promise<boolean> {
  if (!win.showSaveFilePicker) { downloadFile(f); return true; }
  const ext = f.name.includes('.') ? f.name.slice(f.name.lastIndexOf('.')) : '';
  try {
    const types = ext ? [{ description: `${ext} file`, accept: { [f.type ?? 'application/octet-stream']: [ext] } }] : undefined;
    await writeHandle(await win.showSaveFilePicker({ suggestedName: f.name, types }), f);
    return true;
  } catch (e) {
    if (isAbort(e)) return false;
    throw e;
  }
}

/** Several files: into a folder the user picks where available, else one download each. */
export async function saveFiles(files: FileToSave[], win: PickerWindow = window as unknown as PickerWindow): Promise<boolean> {
  if (!win.showDirectoryPicker) { files.forEach(downloadFile); return true; }
  try {
    const dir = await win.showDirectoryPicker({ mode: 'readwrite', id: 'tabzero-adapter' });
    for (const f of files) await writeHandle(await dir.getFileHandle(f.name, { create: true }), f);
    return true;
  } catch (e) {
    if (isAbort(e)) return false;
    throw e;
  }
}

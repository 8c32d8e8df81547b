// Fetches a PEFT adapter from a Hugging Face repo (adapter_config.json + adapter_model.safetensors)
// through the hub helpers of formats/ (retries, resume, tokens), then validates it like a local file.
import { fetchHubText, hubFileUrl, validateRepoId, type HubOptions } from '../formats/hub';
import { openHttpSource } from '../formats/http-source';
import { SourceError } from '../formats/sources';
import { CONFIG_FILE, WEIGHTS_FILE, readPeftFiles, type PeftBundle } from './files';

/** Downloads and validates `{repo}/adapter_config.json` + `{repo}/adapter_model.safetensors`. */
export async function fetchHubAdapter(repo: string, opts: HubOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<PeftBundle> {
  validateRepoId(repo);
  const rev = opts.revision ?? 'main';
  const notFound = (file: string) => (e: unknown): never => {
    if (e instanceof SourceError && e.code === 'not_found') {
      throw new SourceError('not_found', `${repo}@${rev} has no ${file} (HTTP 404)`, `check the repo id; a PEFT adapter repo holds ${CONFIG_FILE} and ${WEIGHTS_FILE} at its root`, 404);
    }
    throw e;
  };
  const configText = await fetchHubText(repo, CONFIG_FILE, opts).catch(notFound(CONFIG_FILE));
  const source = await openHttpSource(hubFileUrl(repo, WEIGHTS_FILE, opts), { ...opts, name: `${repo}/${WEIGHTS_FILE}` }).catch(notFound(WEIGHTS_FILE));
  opts.onProgress?.(0, source.size);
  const bytes = await source.read(0, source.size, opts.signal);
  opts.onProgress?.(source.size, source.size);
  return readPeftFiles(configText, bytes);
}

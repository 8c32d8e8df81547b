// Bundles the Node entry point (src/cli/main.ts: bench, cli) into one ESM file with every
// dependency and WGSL file inlined. Only `webgpu` stays external: it is loaded from $DAWN_NODE on
// the GPU device machine, or from node_modules here.
//   node scripts/bundle.mjs            → .cache/node/tabzero.mjs
//   node scripts/bundle.mjs --gpu      → .gpu/tabzero.mjs (for the device tool; see shared/gpu/README.md)
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** esbuild plugin: `import code from './x.wgsl?raw'` → the file's text (as Vite does). */
const rawPlugin = {
  name: 'raw',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.slice(0, -4)), namespace: 'raw' }));
    b.onLoad({ filter: /.*/, namespace: 'raw' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }));
  },
};

export async function bundleNode(outfile = resolve(root, '.cache/node/tabzero.mjs'), { minify = false } = {}) {
  await build({
    entryPoints: [resolve(root, 'src/cli/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    plugins: [rawPlugin],
    sourcemap: minify ? false : 'inline',
    minify,
    logLevel: 'warning',
    // CommonJS dependencies inside an ESM bundle need a require
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const gpu = process.argv.includes('--gpu');
  // the device run carries at most 64 MiB: the GPU bundle is minified, without a source map
  const out = await bundleNode(gpu ? resolve(root, '.gpu/tabzero.mjs') : undefined, { minify: gpu });
  console.log(`bundled ${out}`);
}

// Builds the admin UI into the directory given as the first argument: one hashed JS bundle and one hashed CSS file
// (Preact, htm and uPlot included: no CDN at run time) and an index.html that names them. Run by the Handler's build
// (functions/Handler/Handler.csproj) so `dotnet build`, `dotnet test` and `dotnet publish` all produce it.
import { build } from 'esbuild';
import { mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node ui/build.mjs <output directory>');
  process.exit(2);
}

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const files = Object.keys(result.metafile.outputs).map((f) => basename(f));
const script = files.find((f) => f.endsWith('.js'));
const style = files.find((f) => f.endsWith('.css'));
const page = (await readFile(join(here, 'index.html'), 'utf8'))
  .replace('%SCRIPT%', `assets/${script}`)
  .replace('%STYLE%', `assets/${style}`);
await writeFile(join(out, 'index.html'), page);
console.log(`admin UI: ${script}, ${style} -> ${out}`);

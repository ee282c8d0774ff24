/** `npm run vectors`: regenerates test/vectors/session-v1.json (commit it with any wire change). */
import { writeFileSync } from 'node:fs';
import { generateSessionVectors } from './session-vectors.js';

const out = new URL('./session-v1.json', import.meta.url);
writeFileSync(out, JSON.stringify(await generateSessionVectors(), null, 2) + '\n');
console.log(`wrote ${out.pathname}`);

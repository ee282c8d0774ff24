/** `npm run vectors`: regenerates test/vectors/resume-v1.json (commit it with any change to §14). */
import { writeFileSync } from 'node:fs';
import { generateResumeVectors } from './resume-vectors.js';

const out = new URL('./resume-v1.json', import.meta.url);
writeFileSync(out, JSON.stringify(generateResumeVectors(), null, 2) + '\n');
console.log(`wrote ${out.pathname}`);

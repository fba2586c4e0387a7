// npm run bench: every benchmark, one after the other. Arguments go to each.
await import('./recorder.js');

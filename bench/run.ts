// npm run bench: the pipeline benchmark. Arguments pass through (--resources N --changes M --json).
await import('./pipeline.js');

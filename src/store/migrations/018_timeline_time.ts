// The compliance trend reads the timeline by time: the state at a window's
// start and the entries inside it.
export default {
  version: 18,
  name: 'the evaluation timeline by time',
  sql: /* sql */ `
CREATE INDEX evaluation_timeline_recorded ON evaluation_timeline (recorded_at);
`,
};

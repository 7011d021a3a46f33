// The Node probe: what a bot's clock and timers do under libfaketime (as probe.py).
const waitMs = parseFloat(process.argv[2]) * 1000;
const say = (kind, fields = {}) => console.log(JSON.stringify({kind, t: Date.now() / 1000, ...fields}));
(async () => {
  say("start");
  let before = Date.now();
  await new Promise((done) => setTimeout(done, waitMs));
  say("setTimeout", {took: (Date.now() - before) / 1000});
  let ticks = 0;
  before = Date.now();
  await new Promise((done) => {
    const every = setInterval(() => { if (++ticks === 2) { clearInterval(every); done(); } }, waitMs / 2);
  });
  say("setInterval", {took: (Date.now() - before) / 1000});
  say("end");
})();

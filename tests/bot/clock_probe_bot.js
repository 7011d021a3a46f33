// A Node bot for tests/bot/test_bot_run.py, run by `tickerplant run`: its clock at start and
// the server's, then a setTimeout of 10 s of its clock with the server's time around it, as
// JSON lines on the file argv[3] (argv[2]: a mode, as clock_probe_bot.py takes, ignored).
const fs = require("fs");
const url = process.env.TICKERPLANT_UM_URL;
const out = process.argv[3];
const tell = (fields) => fs.appendFileSync(out, JSON.stringify(fields) + "\n");
const server = async () => (await (await fetch(`${url}/fapi/v1/time`)).json()).serverTime;
(async () => {
  const clock = Date.now();
  tell({step: "start", clock, server: await server()});
  const before = await server();
  await new Promise((done) => setTimeout(done, 10_000));
  tell({step: "setTimeout", server: (await server()) - before});
})();

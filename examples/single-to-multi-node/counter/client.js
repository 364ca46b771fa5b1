// Drives the counters through the Restate ingress and keeps the books.
//   node client.js register ADMIN_URL SERVICE_URL
//   node client.js add INGRESS_URLS LEDGER KEYS ROUND   one increment of each of KEYS counters
//   node client.js verify INGRESS_URLS LEDGER           every counter == increments acknowledged
// Each increment carries an idempotency key and is retried (on every ingress URL in turn) until
// it is acknowledged, so one whose outcome was unknown still counts exactly once. LEDGER (JSON)
// records the acknowledged increments per counter.
const fs = require("fs");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const LIMIT_MS = 180_000;

async function call(urls, path, body, headers = {}) {
  const started = Date.now();
  let attempt = 0;
  for (;;) {
    const base = urls[attempt % urls.length];
    attempt++;
    try {
      const res = await fetch(base + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) return await res.json();
      if (res.status < 500 && res.status !== 404 && res.status !== 409 && res.status !== 429) {
        throw new Error(`${base}${path}: HTTP ${res.status} ${await res.text()}`);
      }
    } catch (e) {
      if (String(e.message).includes("HTTP 4")) throw e;
    }
    if (Date.now() - started > LIMIT_MS) throw new Error(`${path}: no acknowledgement within ${LIMIT_MS} ms`);
    await sleep(Math.min(2000, 100 * attempt));
  }
}

async function pool(items, n, fn) {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => { while (queue.length) await fn(queue.shift()); }));
}

const keyName = (i) => `c${String(i).padStart(4, "0")}`;

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd === "register") {
    const [admin, uri] = args;
    const started = Date.now();
    for (;;) {
      try {
        const res = await fetch(`${admin}/deployments`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ uri, force: true }),
          signal: AbortSignal.timeout(10_000),
        });
        if (res.ok) { console.log(`registered ${uri}`); return; }
        console.error(`register: HTTP ${res.status} ${await res.text()}`);
      } catch (e) { console.error(`register: ${e.message}`); }
      if (Date.now() - started > 60_000) throw new Error("could not register the service");
      await sleep(1000);
    }
  }
  const urls = args[0].split(",");
  const ledgerPath = args[1];
  const ledger = fs.existsSync(ledgerPath) ? JSON.parse(fs.readFileSync(ledgerPath, "utf8")) : {};
  if (cmd === "add") {
    const keys = Number(args[2]);
    const round = args[3];
    const started = Date.now();
    await pool([...Array(keys).keys()], 16, async (i) => {
      const key = keyName(i);
      await call(urls, `/counter/${key}/add`, 1, { "idempotency-key": `round-${round}-${key}` });
      ledger[key] = (ledger[key] ?? 0) + 1;
    });
    fs.writeFileSync(ledgerPath, JSON.stringify(ledger, null, 1));
    const total = Object.values(ledger).reduce((a, b) => a + b, 0);
    console.log(`round ${round}: ${keys} increments acknowledged in ${Date.now() - started} ms (${total} in all)`);
    return;
  }
  if (cmd === "verify") {
    const wrong = [];
    await pool(Object.keys(ledger), 16, async (key) => {
      const value = await call(urls, `/counter/${key}/get`, null);
      if (value !== ledger[key]) wrong.push(`${key}: ${value} (expected ${ledger[key]})`);
    });
    const total = Object.values(ledger).reduce((a, b) => a + b, 0);
    if (wrong.length) {
      console.error(`${wrong.length} counters are wrong:\n  ${wrong.sort().join("\n  ")}`);
      process.exit(1);
    }
    console.log(`all ${Object.keys(ledger).length} counters hold exactly the ${total} acknowledged increments`);
    return;
  }
  throw new Error("usage: client.js register|add|verify ...");
}

main().catch((e) => { console.error(e.message); process.exit(1); });

// A Restate service with one virtual object: `counter`, keyed by name. `add` increments the
// counter's durable state; `get` reads it. Used to prove that the migration loses no data.
//   node service.js PORT
// The SDK calls Promise.withResolvers (Node.js 22); provide it on Node.js 20.
Promise.withResolvers ??= function () {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
};
const restate = require("@restatedev/restate-sdk");

const counter = restate.object({
  name: "counter",
  handlers: {
    add: async (ctx, delta) => {
      const value = ((await ctx.get("count")) ?? 0) + (delta ?? 1);
      ctx.set("count", value);
      return value;
    },
    get: restate.handlers.object.shared(async (ctx) => (await ctx.get("count")) ?? 0),
  },
});

const port = Number(process.argv[2] ?? 9080);
restate.serve({ services: [counter], port });

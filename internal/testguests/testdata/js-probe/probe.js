// A JavaScript test guest: the path after /js/ says what it does.

// State a call may leave behind: none of it may reach the next call.
let count = 0;
const seen = [];

function recurse(n) {
  return recurse(n + 1) + 1;
}

export default {
  async fetch(request, env) {
    const what = new URL(request.url).pathname.replace(/^\/js\//, "");
    switch (what) {
      case "count":
        count++;
        seen.push(request.headers.get("x-call"));
        globalThis.leaked = (globalThis.leaked || 0) + 1;
        return Response.json({ count, seen, leaked: globalThis.leaked });
      case "uuid":
        return new Response(crypto.randomUUID());
      case "throw":
        throw new Error("a detail only the log may see");
      case "reject":
        await null;
        throw new TypeError("rejected after an await");
      case "loop":
        while (true) {}
      case "recurse":
        return new Response(String(recurse(0)));
      case "pending":
        return new Promise(() => {});
      case "not-a-response":
        return "just a string";
      case "log":
        console.log("log line", { n: 1 });
        console.warn("warn line");
        console.error(new Error("error line"));
        return new Response("logged\n");
      case "kv": {
        const bucket = env.kv("probe");
        const body = await request.json();
        await bucket.put(String(body.id), JSON.stringify(body));
        const back = await bucket.get(String(body.id), "json");
        const missing = await bucket.get("missing");
        const denied = await env.kv("other").get("x").then(() => "allowed", (e) => e.message);
        return Response.json({ back, missing, denied, keys: await bucket.list("") }, { status: 201 });
      }
      case "echo":
        return new Response(await request.arrayBuffer(), {
          status: 201,
          headers: {
            "x-method": request.method,
            "x-params": JSON.stringify(request.params),
            "content-type": request.headers.get("content-type") || "application/octet-stream",
          },
        });
    }
    return Response.json({ error: "unknown probe " + what }, { status: 404 });
  },
};

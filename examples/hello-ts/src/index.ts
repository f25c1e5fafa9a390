// hello-ts is examples/hello in TypeScript: GET /hello-ts answers
// "Hello, world!", or greets the name given as ?name=.
import { cleanName } from "./name";

export default {
  async fetch(request: Request): Promise<Response> {
    const name = cleanName(new URL(request.url).searchParams.get("name") ?? "") || "world";
    return new Response(`Hello, ${name}!\n`, {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  },
} satisfies Handler;

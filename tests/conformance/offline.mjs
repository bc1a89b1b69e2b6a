// Loaded before activitypub-testing (`node --import ./offline.mjs …`) so the conformance
// run cannot depend on the internet, and so the test can see what the tool asked for.
//
// * Every fetch() is written to the file OCE_CONFORMANCE_REQUESTS as one JSON line
//   {"method", "url", "allowed"}; a fetch outside OCE_CONFORMANCE_ORIGIN (the instance
//   under test) is refused, so the test fails on it instead of waiting for a network.
// * Below fetch, any TCP connection to a host other than loopback is refused, in case a
//   dependency reaches the network some other way (a JSON-LD document loader, say).
import { appendFileSync } from "node:fs";
import net from "node:net";

const origin = process.env.OCE_CONFORMANCE_ORIGIN;
const log = process.env.OCE_CONFORMANCE_REQUESTS;
if (!origin || !log) {
  throw new Error("offline.mjs needs OCE_CONFORMANCE_ORIGIN and OCE_CONFORMANCE_REQUESTS");
}

const realFetch = globalThis.fetch;
globalThis.fetch = async (resource, init = {}) => {
  // Read, never construct, the request: building a Request would consume its body.
  const isRequest = resource instanceof Request;
  const url = isRequest ? resource.url : String(resource);
  const method = (init.method ?? (isRequest ? resource.method : "GET")).toUpperCase();
  const allowed = new URL(url).origin === origin;
  appendFileSync(log, JSON.stringify({ method, url, allowed }) + "\n");
  if (!allowed) {
    throw new TypeError("fetch failed", {
      cause: { code: "OCE_OFFLINE", message: `${url} is outside ${origin}` },
    });
  }
  return realFetch(resource, init);
};

const LOOPBACK = /^(localhost|127(\.\d+){3}|::1|::ffff:127(\.\d+){3})$/;
const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  // Node passes either its own normalized [options, callback] array or the public forms.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host = "localhost";
  if (first && typeof first === "object") {
    host = first.path ? "localhost" : (first.host ?? "localhost");
  } else if (typeof args[1] === "string") {
    host = args[1];
  }
  if (!LOOPBACK.test(String(host).replace(/^\[|\]$/g, ""))) {
    appendFileSync(log, JSON.stringify({ method: "CONNECT", url: String(host), allowed: false }) + "\n");
    throw new Error(`offline.mjs: refused a connection to ${host}: only loopback is allowed`);
  }
  return realConnect.apply(this, args);
};

// A GalaxyJoy partner's receiver. The guide says: read the RAW body (not a
// JSON-parsed one), take gj-signature "t=<unix ms>,v1=<hex>", use t against
// replays, and check v1 (HMAC-SHA256) with the endpoint's SecretKey. Its
// NodeJS sample is not in the text we have, so this is the conventional
// reading hookpost documents: v1 = hex(HMAC-SHA256(secret, `${t}.${rawBody}`)),
// any v1 may match (rotation), t within 5 minutes of now.
// Node standard library only. Listens on 127.0.0.1 (port from PORT, 0 = any),
// prints "listening <port>", then one JSON line per request.
"use strict";
const http = require("http");
const crypto = require("crypto");

const secret = process.env.SECRET;
const TOLERANCE_MS = 5 * 60 * 1000;

function verify(rawBody, header) {
  if (!header) return false;
  let t = null;
  const v1 = [];
  for (const part of header.split(",")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    const key = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (key === "t") t = value;
    else if (key === "v1") v1.push(value);
  }
  if (t === null || !/^\d+$/.test(t) || Math.abs(Date.now() - Number(t)) > TOLERANCE_MS) {
    return false;
  }
  const expected = crypto.createHmac("sha256", secret).update(`${t}.`).update(rawBody).digest();
  return v1.some((sig) => {
    const given = Buffer.from(sig, "hex");
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const rawBody = Buffer.concat(chunks);
    const ok = verify(rawBody, req.headers["gj-signature"]);
    const event = ok ? JSON.parse(rawBody.toString("utf8")) : null;
    console.log(JSON.stringify({ ok, type: event && event.event_type }));
    res.writeHead(ok ? 200 : 401, { "Content-Type": "text/plain" });
    res.end(ok ? "OK" : "Invalid signature");
  });
});

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});

// A Byl customer's receiver, as Byl's guide tells it to verify:
//   computedSignature = crypto.createHmac("sha256", secret).update(payload).digest("hex")
//   ... compared with === to the Byl-Signature header.
// Node standard library only. Listens on 127.0.0.1 (port from PORT, 0 = any),
// prints "listening <port>", then one JSON line per request.
"use strict";
const http = require("http");
const crypto = require("crypto");

const secret = process.env.SECRET;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const payload = Buffer.concat(chunks).toString("utf8");
    const computedSignature = crypto
      .createHmac("sha256", secret)
      .update(payload)
      .digest("hex");
    const ok = req.headers["byl-signature"] === computedSignature;
    let event = null;
    if (ok) event = JSON.parse(payload);
    console.log(JSON.stringify({ ok, type: event && event.type, object: event && event.object }));
    res.writeHead(ok ? 200 : 401, { "Content-Type": "text/plain" });
    res.end(ok ? "OK" : "Invalid signature");
  });
});

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});

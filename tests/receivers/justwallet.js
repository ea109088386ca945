// A Just Wallet customer's receiver, as Just Wallet's JavaScript sample does it:
// parse the body as JSON (bodyParser.json), then
//   crypto.createHmac('sha256', secret).update(JSON.stringify(req.body)).digest('hex')
// must equal the Signature header, else 401.
// Node standard library only (the express/body-parser parts done by hand).
// Listens on 127.0.0.1 (port from PORT, 0 = any), prints "listening <port>",
// then one JSON line per request.
"use strict";
const http = require("http");
const crypto = require("crypto");

const secret = process.env.SECRET;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")); // bodyParser.json()
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: "bad json" }));
      res.writeHead(400, { "Content-Type": "text/plain" });
      return res.end("Bad Request");
    }
    const signature = req.headers["signature"];
    const signSecret = crypto
      .createHmac("sha256", secret)
      .update(JSON.stringify(body))
      .digest("hex");
    if (!signature || signature !== signSecret) {
      console.log(JSON.stringify({ ok: false }));
      res.writeHead(401, { "Content-Type": "text/plain" });
      return res.end("Unauthorized");
    }
    console.log(JSON.stringify({ ok: true, type: body["event.type"] }));
    res.writeHead(200, { "Content-Type": "text/plain" });
    return res.end("OK");
  });
});

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});

// What the Just Wallet guide's receiver signs: JSON.stringify(JSON.parse(body)).
// Reads one body per line on stdin and writes the re-serialized line to stdout.
"use strict";
const readline = require("readline");

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  process.stdout.write(JSON.stringify(JSON.parse(line)) + "\n");
});

<?php
// A Just Wallet customer's Laravel receiver, as Just Wallet's PHP sample does it:
//   hash_hmac('sha256', json_encode($request->all()), $secret)
// must equal the Signature header, else 401. The request is Laravel's own
// Illuminate\Http\Request (Debian's php-illuminate-http); the route's body is the
// guide's, with Laravel's helpers spelled out (abort(401), response(200), Log::info)
// since only the HTTP component is loaded. Run by `php -S 127.0.0.1:PORT` with
// SECRET in the environment; the verdict goes to stderr as one JSON line.
require_once 'Illuminate/Http/autoload.php';

$webhook = function (\Illuminate\Http\Request $request) {
    //check for the signature
    $secret = getenv('SECRET');
    $signature = $request->header('signature');
    $sign_secret = hash_hmac('sha256', json_encode($request->all()), $secret);
    if (!$signature || ($signature !== $sign_secret)) {
        // This request isn't from Just Wallet; discard
        error_log(json_encode(['ok' => false]));
        http_response_code(401);  // abort(401)
        return;
    }
    $payload = $request->all();
    // It's a good idea to log all received events.
    error_log(json_encode(['ok' => true, 'type' => $payload['event.type'] ?? null]));
    http_response_code(200);  // return response(200)
};

$webhook(\Illuminate\Http\Request::capture());

# A Just Wallet customer's Sinatra receiver, as Just Wallet's Ruby sample does it:
#   OpenSSL::HMAC.hexdigest('sha256', secret, JSON.generate(request.params))
# must equal the signature, else 401. Debian's ruby-sinatra and ruby-webrick.
#
# Two things the guide leaves out, without which it cannot verify anything:
# - request.params holds form fields only; a JSON body gets there through a
#   body parser such as rack-contrib's Rack::JSONBodyParser. JSONBody below does
#   what that one does (JSON.parse the body into the form hash).
# - the guide reads HTTP_WEBHOOK_SECRET, but Just Wallet (and its PHP and Node
#   samples) send the signature in the Signature header: HTTP_SIGNATURE here.
# Listens on 127.0.0.1:$PORT with SECRET from the environment; the verdict goes to
# stdout as one JSON line.
require 'sinatra'
require 'json'
require 'openssl'

class JSONBody
  def initialize(app)
    @app = app
  end

  def call(env)
    if env['CONTENT_TYPE'].to_s.start_with?('application/json')
      body = env['rack.input'].read
      env['rack.input'].rewind
      env['rack.request.form_hash'] = JSON.parse(body, create_additions: false)
      env['rack.request.form_input'] = env['rack.input']
    end
    @app.call(env)
  end
end

use JSONBody
set :port, Integer(ENV.fetch('PORT'))
set :bind, '127.0.0.1'
set :server, 'webrick'
set :logging, false
$stdout.sync = true

post '/webhook' do
  # Check for the signature
  secret = ENV.fetch('SECRET')
  signature = request.env['HTTP_SIGNATURE']
  sign_secret = OpenSSL::HMAC.hexdigest('sha256', secret, JSON.generate(request.params))
  if !signature || (signature != sign_secret)
    # This request isn't from Just Wallet; discard
    puts JSON.generate({ 'ok' => false })
    halt 401, 'Unauthorized'
  end
  payload = request.params
  # It's a good idea to log all received events.
  puts JSON.generate({ 'ok' => true, 'type' => payload['event.type'] })
  # Do something (that doesn't take too long) with the payload
  status 200
  body 'OK'
end

// exec/http_auth.h — the bearer-token gate every reelscale HTTP service puts before its
// routes (the worker, the job service): a request without an accepted token gets 401
// with a JSON error and WWW-Authenticate, and the refusal is logged.
#pragma once

#include <httplib.h>

#include <string>

#include "access/tokens.h"

namespace reelscale::exec {

// A JSON error body {"error": kind, "message": message} with the status.
void reply_json_error(httplib::Response& res, int status, const std::string& kind, const std::string& message);

// True (and the 401 written) when the request lacks a token `tokens` accepts.
bool refuse_without_token(const access::TokenSet& tokens, const httplib::Request& req, httplib::Response& res);

}  // namespace reelscale::exec

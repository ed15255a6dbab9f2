-- astrocyte-memory for Kong (3.x PDK): memory around OpenAI-compatible /chat/completions routes.
--
-- access:        recall for the latest user turn (POST <astrocyte_url>/v1/recall) and inject the
--                memories as one delimited system message; on any recall failure forward unchanged.
-- header_filter: X-Astrocyte-Memory / X-Astrocyte-Memories on the response.
-- body_filter:   read the answer as it passes (JSON, or SSE deltas) without holding it back.
-- log:           retain the exchange (POST <astrocyte_url>/v1/retain) from a zero-delay timer, retried
--                with backoff; a final failure is logged at ERROR level with the bank and request id.
--
-- Everything that shapes requests or prompts lives in astrocyte_memory_core (pure, unit-tested).
local core = require("astrocyte_memory_core")
local cjson = require("cjson.safe")
local http = require("resty.http")

local AstrocyteMemory = {
  PRIORITY = 775, -- after authentication, before ai-proxy (770) rewrites the body for its provider
  VERSION = core.version,
}

local function post(conf, verb, payload, request_id, client_authorization)
  local client = http.new()
  client:set_timeout(conf.timeout_ms)
  local response, err = client:request_uri(core.endpoint(conf.astrocyte_url, verb), {
    method = "POST",
    body = cjson.encode(payload),
    headers = core.astrocyte_headers(conf, request_id, client_authorization),
    ssl_verify = conf.ssl_verify,
  })
  if response == nil then
    return nil, err
  end
  if response.status >= 300 then
    return nil, "HTTP " .. response.status .. ": " .. (response.body or ""):sub(1, 300)
  end
  return cjson.decode(response.body) or {}
end

local function retain_later(premature, conf, request, request_id, client_authorization)
  if premature then
    return
  end
  local delay = 0.2
  local err
  for attempt = 1, conf.retain_attempts do
    local ok
    ok, err = post(conf, "retain", request, request_id, client_authorization)
    if ok ~= nil then
      return
    end
    if attempt < conf.retain_attempts then
      ngx.sleep(delay)
      delay = delay * 2
    end
  end
  kong.log.err("astrocyte retain failed for bank '", request.bank_id, "' (request ", request_id or "-",
    ") after ", conf.retain_attempts, " attempt(s): ", err)
end

function AstrocyteMemory:access(conf)
  if kong.request.get_method() ~= "POST" or not core.is_chat_completions(kong.request.get_path()) then
    return
  end
  local mode, problem = core.memory_mode(kong.request.get_header(core.MEMORY_HEADER))
  if mode == nil then
    return kong.response.exit(400, { type = "about:blank", title = "Bad Request", status = 400, detail = problem },
      { ["Content-Type"] = "application/problem+json" })
  end
  -- the memory headers are for this plugin, not for the LLM provider
  kong.service.request.clear_header(core.MEMORY_HEADER)
  local bank = core.bank_for(conf, kong.request.get_header(conf.bank_header))
  kong.service.request.clear_header(conf.bank_header)

  local state = { mode = mode, count = 0, bank = bank }
  kong.ctx.plugin.astrocyte = state
  if mode == "off" then
    return
  end
  local raw = kong.request.get_raw_body()
  local body = raw and cjson.decode(raw)
  if type(body) ~= "table" then
    state.mode = "off" -- not JSON (or too large to buffer): the upstream answers it as it is
    return
  end
  state.user_text = core.latest_user_text(body)
  state.model = body.model
  state.stream = body.stream == true
  state.request_id = kong.request.get_header("X-Request-ID") or ngx.var.request_id
  state.client_authorization = kong.request.get_header("Authorization")
  if mode == "on" and conf.retain then
    kong.service.request.set_header("Accept-Encoding", "identity") -- the answer is read in body_filter
  end

  local recall = core.recall_request(body, { bank_id = bank, max_results = conf.max_results })
  if recall == nil then
    return
  end
  local result, err = post(conf, "recall", recall, state.request_id, state.client_authorization)
  if result == nil then
    kong.log.warn("astrocyte recall failed, forwarding without memories: ", err)
    state.degraded = true
    return
  end
  local block, count = core.memory_block(core.hit_texts(result), conf.max_tokens)
  state.count = count
  if block ~= nil then
    kong.service.request.set_raw_body(cjson.encode(core.inject(body, block)))
  end
end

function AstrocyteMemory:header_filter(conf)
  local state = kong.ctx.plugin.astrocyte
  if state == nil then
    return
  end
  kong.response.set_header(core.MEMORY_HEADER, state.degraded and "degraded" or state.mode)
  kong.response.set_header(core.MEMORIES_HEADER, tostring(state.count))
  state.retain = conf.retain and state.mode == "on" and state.bank ~= nil and kong.response.get_status() < 300
  if state.retain then
    state.transcript = state.stream and core.new_transcript(cjson.decode) or nil
    state.chunks = {}
  end
end

function AstrocyteMemory:body_filter(conf)
  local state = kong.ctx.plugin.astrocyte
  if state == nil or not state.retain then
    return
  end
  local chunk = ngx.arg[1]
  if chunk ~= nil and chunk ~= "" then
    if state.transcript ~= nil then
      state.transcript.feed(chunk)
    else
      state.chunks[#state.chunks + 1] = chunk
    end
  end
end

function AstrocyteMemory:log(conf)
  local state = kong.ctx.plugin.astrocyte
  if state == nil or not state.retain then
    return
  end
  local answer
  if state.transcript ~= nil then
    answer = state.transcript.done and state.transcript.text() or "" -- an aborted stream is not retained
  else
    answer = core.completion_text(cjson.decode(table.concat(state.chunks)))
  end
  local request = core.retain_request({
    bank_id = state.bank, user_text = state.user_text, answer = answer, model = state.model,
  })
  if request == nil then
    return
  end
  local ok, err = ngx.timer.at(0, retain_later, conf, request, state.request_id, state.client_authorization)
  if not ok then
    kong.log.err("astrocyte retain could not be scheduled for bank '", state.bank, "': ", err)
  end
end

return AstrocyteMemory

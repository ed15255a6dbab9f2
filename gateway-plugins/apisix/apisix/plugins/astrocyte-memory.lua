-- astrocyte-memory for Apache APISIX (3.x): memory around OpenAI-compatible /chat/completions routes.
--
-- access:        recall for the latest user turn (POST <astrocyte_url>/v1/recall) and inject the
--                memories as one delimited system message; on any recall failure forward unchanged.
-- header_filter: X-Astrocyte-Memory / X-Astrocyte-Memories on the response.
-- body_filter:   read the answer as it passes (JSON, or SSE deltas) without holding it back.
-- log:           retain the exchange (POST <astrocyte_url>/v1/retain) from a zero-delay timer, retried
--                with backoff; a final failure is logged at ERROR level with the bank and request id.
--
-- Everything that shapes requests or prompts lives in astrocyte_memory_core (pure, unit-tested).
local core = require("apisix.core")
local memory = require("astrocyte_memory_core")
local http = require("resty.http")
local ngx = ngx

local plugin_name = "astrocyte-memory"

local schema = {
  type = "object",
  properties = {
    astrocyte_url = { type = "string", pattern = [[^https?://]] },
    astrocyte_api_key = { type = "string" },
    forward_client_auth = { type = "boolean", default = false },
    bank_id = { type = "string", minLength = 1 },
    bank_header = { type = "string", default = "X-Astrocyte-Bank" },
    max_results = { type = "integer", minimum = 1, maximum = 200, default = 8 },
    max_tokens = { type = "integer", minimum = 16, maximum = 100000, default = 800 },
    timeout_ms = { type = "integer", minimum = 1, maximum = 60000, default = 2000 },
    retain = { type = "boolean", default = true },
    retain_attempts = { type = "integer", minimum = 1, maximum = 10, default = 3 },
    ssl_verify = { type = "boolean", default = true },
  },
  required = { "astrocyte_url" },
  encrypt_fields = { "astrocyte_api_key" },
}

local _M = {
  version = 0.1,
  priority = 1060, -- before ai-proxy (which forwards to the LLM) and after authentication
  name = plugin_name,
  schema = schema,
}

function _M.check_schema(conf)
  return core.schema.check(schema, conf)
end

local function post(conf, verb, payload, request_id, client_authorization)
  local client = http.new()
  client:set_timeout(conf.timeout_ms)
  local response, err = client:request_uri(memory.endpoint(conf.astrocyte_url, verb), {
    method = "POST",
    body = core.json.encode(payload),
    headers = memory.astrocyte_headers(conf, request_id, client_authorization),
    ssl_verify = conf.ssl_verify,
  })
  if response == nil then
    return nil, err
  end
  if response.status >= 300 then
    return nil, "HTTP " .. response.status .. ": " .. (response.body or ""):sub(1, 300)
  end
  return core.json.decode(response.body) or {}
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
  core.log.error("astrocyte retain failed for bank '", request.bank_id, "' (request ", request_id or "-",
    ") after ", conf.retain_attempts, " attempt(s): ", err)
end

function _M.access(conf, ctx)
  if core.request.get_method() ~= "POST" or not memory.is_chat_completions(ctx.var.uri) then
    return
  end
  local mode, problem = memory.memory_mode(core.request.header(ctx, memory.MEMORY_HEADER))
  if mode == nil then
    core.response.set_header("Content-Type", "application/problem+json")
    return 400, { type = "about:blank", title = "Bad Request", status = 400, detail = problem }
  end
  -- the memory headers are for this plugin, not for the LLM provider
  core.request.set_header(ctx, memory.MEMORY_HEADER, nil)
  local bank = memory.bank_for(conf, core.request.header(ctx, conf.bank_header))
  core.request.set_header(ctx, conf.bank_header, nil)

  local state = { mode = mode, count = 0, bank = bank }
  ctx.astrocyte_memory = state
  if mode == "off" then
    return
  end
  local raw = core.request.get_body()
  local body = raw and core.json.decode(raw)
  if type(body) ~= "table" then
    state.mode = "off" -- not JSON (or too large to buffer): the upstream answers it as it is
    return
  end
  state.user_text = memory.latest_user_text(body)
  state.model = body.model
  state.stream = body.stream == true
  state.request_id = core.request.header(ctx, "X-Request-ID") or ctx.var.request_id
  state.client_authorization = core.request.header(ctx, "Authorization")
  if mode == "on" and conf.retain then
    core.request.set_header(ctx, "Accept-Encoding", "identity") -- the answer is read in body_filter
  end

  local recall = memory.recall_request(body, { bank_id = bank, max_results = conf.max_results })
  if recall == nil then
    return
  end
  local result, err = post(conf, "recall", recall, state.request_id, state.client_authorization)
  if result == nil then
    core.log.warn("astrocyte recall failed, forwarding without memories: ", err)
    state.degraded = true
    return
  end
  local block, count = memory.memory_block(memory.hit_texts(result), conf.max_tokens)
  state.count = count
  if block ~= nil then
    ngx.req.set_body_data(core.json.encode(memory.inject(body, block)))
  end
end

function _M.header_filter(conf, ctx)
  local state = ctx.astrocyte_memory
  if state == nil then
    return
  end
  core.response.set_header(memory.MEMORY_HEADER, state.degraded and "degraded" or state.mode)
  core.response.set_header(memory.MEMORIES_HEADER, tostring(state.count))
  state.retain = conf.retain and state.mode == "on" and state.bank ~= nil and ngx.status < 300
  if state.retain then
    state.transcript = state.stream and memory.new_transcript(core.json.decode) or nil
    state.chunks = {}
  end
end

function _M.body_filter(conf, ctx)
  local state = ctx.astrocyte_memory
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

function _M.log(conf, ctx)
  local state = ctx.astrocyte_memory
  if state == nil or not state.retain then
    return
  end
  local answer
  if state.transcript ~= nil then
    answer = state.transcript.done and state.transcript.text() or "" -- an aborted stream is not retained
  else
    answer = memory.completion_text(core.json.decode(table.concat(state.chunks)))
  end
  local request = memory.retain_request({
    bank_id = state.bank, user_text = state.user_text, answer = answer, model = state.model,
  })
  if request == nil then
    return
  end
  local ok, err = ngx.timer.at(0, retain_later, conf, request, state.request_id, state.client_authorization)
  if not ok then
    core.log.error("astrocyte retain could not be scheduled for bank '", state.bank, "': ", err)
  end
end

return _M

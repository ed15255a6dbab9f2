-- Configuration of the astrocyte-memory Kong plugin (same keys as the APISIX plugin).
local typedefs = require("kong.db.schema.typedefs")

return {
  name = "astrocyte-memory",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    {
      config = {
        type = "record",
        fields = {
          { astrocyte_url = typedefs.url({ required = true }) },
          { astrocyte_api_key = { type = "string", required = false, encrypted = true, referenceable = true } },
          { forward_client_auth = { type = "boolean", required = true, default = false } },
          { bank_id = { type = "string", required = false } },
          { bank_header = typedefs.header_name({ required = true, default = "X-Astrocyte-Bank" }) },
          { max_results = { type = "integer", required = true, default = 8, between = { 1, 200 } } },
          { max_tokens = { type = "integer", required = true, default = 800, between = { 16, 100000 } } },
          { timeout_ms = { type = "integer", required = true, default = 2000, between = { 1, 60000 } } },
          { retain = { type = "boolean", required = true, default = true } },
          { retain_attempts = { type = "integer", required = true, default = 3, between = { 1, 10 } } },
          { ssl_verify = { type = "boolean", required = true, default = true } },
        },
      },
    },
  },
}
